"""The outside world: settings, PostgreSQL, S3, outbox and the embedded dev stack."""
