"""Where the shared real-world test corpus lives (``<repo>/../shared/corpus``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

__all__ = ["corpus_dir"]

_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"


def corpus_dir() -> Path:
    """The corpus directory; skip the test when it is absent, fail instead when CI=true."""
    if (_CORPUS / "manifest.json").is_file():
        return _CORPUS
    message = (
        f"shared corpus not found at {_CORPUS}; "
        "check out the shared test corpus beside the repository (see ../shared/corpus/SOURCES.md)"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)
