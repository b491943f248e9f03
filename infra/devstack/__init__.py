"""The embedded dev stack: a throwaway PostgreSQL and an S3-compatible server, both real."""

from infra.devstack.postgres import EmbeddedPostgres
from infra.devstack.s3 import EmbeddedS3
from infra.devstack.stack import DEVSTACK_INSTALL_HINT, DevStack, missing_devstack_packages

__all__ = ["DEVSTACK_INSTALL_HINT", "DevStack", "EmbeddedPostgres", "EmbeddedS3", "missing_devstack_packages"]
