"""The layout the README's module map promises: use_cases/ holds use cases, one concept lives in one place,
and comments and docstrings cite files that exist."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import io
import pkgutil
import re
import tokenize
from pathlib import Path

import msgspec
import pytest

import courier_api.use_cases
from courier_api.context import RequestContext

ROOT = Path(__file__).resolve().parents[3]


def _use_case_modules() -> list[str]:
    return [
        info.name for info in pkgutil.iter_modules(courier_api.use_cases.__path__, "courier_api.use_cases.")
    ]


def _is_data(cls: type) -> bool:
    return issubclass(cls, (msgspec.Struct, BaseException)) or dataclasses.is_dataclass(cls)


def _takes_request_context(method: object) -> bool:
    if not inspect.iscoroutinefunction(method):
        return False
    parameters = list(inspect.signature(method).parameters.values())
    return len(parameters) > 1 and parameters[1].annotation in ("RequestContext", RequestContext)


@pytest.mark.parametrize("module_name", _use_case_modules())
def test_use_cases_holds_only_use_cases_and_their_data(module_name: str) -> None:
    """A class in use_cases/ carries data or runs use cases on a RequestContext; pools, caches, limiters
    and ports live in components/."""
    module = importlib.import_module(module_name)
    strays = []
    for name, cls in vars(module).items():
        if name.startswith("_") or not inspect.isclass(cls) or cls.__module__ != module_name or _is_data(cls):
            continue
        public = [m for n, m in vars(cls).items() if callable(m) and not n.startswith("_")]
        if not public or not all(_takes_request_context(m) for m in public):
            strays.append(name)
    assert strays == [], f"{module_name} holds things that are not use cases: {strays}"


def _source_files() -> list[Path]:
    return sorted(p for folder in ("courier_api", "infra") for p in (ROOT / folder).rglob("*.py"))


def test_customer_bars_live_in_one_module_per_layer() -> None:
    """Bars: the use cases with their wire structs in use_cases/bars.py, the SQL in infra/repositories/bars.py."""
    homes = {"courier_api/use_cases/bars.py", "infra/repositories/bars.py"}
    defined_elsewhere = [
        f"{path.relative_to(ROOT)}: {node.name}"
        for path in _source_files()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef)
        and node.name.startswith("Bar")
        and str(path.relative_to(ROOT)) not in homes
    ]
    assert defined_elsewhere == []


# A path with a folder and a file suffix, as comments and docstrings cite them (`infra/documents.py`).
_CITED_PATH = re.compile(
    r"(?<![\w/.-])((?:\.\./)?[A-Za-z_][\w.-]*(?:/[\w.-]+)+\.(?:py|sql|md|html|css|toml|sh))\b"
)


def _comments_and_docstrings(source: str) -> list[str]:
    texts = [
        t.string for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type == tokenize.COMMENT
    ]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            docstring = ast.get_docstring(node)
            if docstring:
                texts.append(docstring)
    return texts


def test_comments_and_docstrings_cite_files_that_exist() -> None:
    missing = []
    for path in _source_files():
        for text in _comments_and_docstrings(path.read_text()):
            for cited in _CITED_PATH.findall(text):
                if "NNNN" in cited:  # a naming pattern, not a file
                    continue
                bases = (ROOT, path.parent, ROOT / "courier_api", ROOT / "infra")
                if not any((base / cited).exists() for base in bases):
                    missing.append(f"{path.relative_to(ROOT)} cites {cited}")
    assert missing == []
