"""The embedded dev stack: a throwaway PostgreSQL and an S3-compatible server, both real."""

from infra.devstack.postgres import EmbeddedPostgres
from infra.devstack.s3 import EmbeddedS3
from infra.devstack.stack import DevStack

__all__ = ["DevStack", "EmbeddedPostgres", "EmbeddedS3"]
