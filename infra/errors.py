"""Errors raised by infra, named for what went wrong, never for an HTTP status.

Error tree:
    InfraError
    ├── ConfigError            a setting is missing or invalid (names the variable)
    ├── DatabaseUnavailable    PostgreSQL cannot be reached or dropped the connection
    ├── StorageUnavailable     the S3 store cannot be reached or answered 5xx
    ├── EvidenceExists         a conditional put found an object already at that key
    ├── ConflictingWrite       a unique constraint refused a concurrent write
    ├── TableBusy              a lock a housekeeping step needs was not granted in time (retry later)
    └── UnstorableText         a text value holds a character PostgreSQL cannot store (NUL)
"""

from __future__ import annotations


class InfraError(Exception):
    """Base of every error infra raises on purpose."""


class ConfigError(InfraError):
    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


class DatabaseUnavailable(InfraError):
    """PostgreSQL could not be reached or the connection broke mid-request."""


class StorageUnavailable(InfraError):
    """The object store could not be reached or failed; the caller may retry."""


class EvidenceExists(InfraError):
    """An object already exists at the key; evidence is never overwritten."""


class ConflictingWrite(InfraError):
    """A concurrent request wrote the same row first."""


class TableBusy(InfraError):
    """Another session held a lock a housekeeping step needs past its lock timeout; nothing changed."""


class UnstorableText(InfraError):
    """A text or JSON value holds a character PostgreSQL refuses (U+0000); nothing was written."""
