"""Use cases: combine the pure cores with infra. They never import litestar and never commit."""
