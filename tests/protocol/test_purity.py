"""``protocol/`` does no I/O: it imports only what the layering rules allow."""

from __future__ import annotations

import ast
from pathlib import Path

PROTOCOL = Path(__file__).parents[2] / "protocol"

ALLOWED = {
    "__future__",
    "base64",
    "collections",
    "dataclasses",
    "functools",
    "hashlib",
    "json",
    "re",
    "typing",
    "urllib",
    "cryptography",
    "orjson",
    "jsonschema",
    "fastjsonschema",
    "protocol",
}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_protocol_imports_nothing_that_does_io() -> None:
    modules = sorted(PROTOCOL.glob("*.py"))
    assert modules
    for path in modules:
        extra = _imports(path) - ALLOWED
        assert not extra, f"{path.name} imports {sorted(extra)}"


def test_protocol_never_reads_the_clock_or_environment() -> None:
    for path in PROTOCOL.glob("*.py"):
        text = path.read_text("utf-8")
        for banned in ("time.time", "datetime.now", "os.environ", "open("):
            assert banned not in text, f"{path.name} uses {banned}"
