"""Customer notifications: texts per event and locale, and the worker that drains the outbox."""
