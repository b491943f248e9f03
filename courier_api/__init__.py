"""The HTTP edge: app factory, controllers per audience, use cases."""
