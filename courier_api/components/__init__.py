"""What the app builds once per process and hands to every use case through the request context.

Not use cases: the photo verification pool (`photo_verifier`), the cache of policy versions and bars
(`policy_catalog`), the rate limiter (`rate_limits`) and what device attestation trusts (`attestation`).
They know nothing of requests, handlers or use cases, and never import litestar.
"""
