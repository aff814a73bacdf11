"""A description of the machine a benchmark ran on, for comparing runs."""

from __future__ import annotations

import os
import platform
import sqlite3
from importlib import metadata
from typing import Any

__all__ = ["describe"]

LIBRARIES = ("aiohttp", "cryptography", "orjson", "eventsourcing", "tredegar")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def describe() -> dict[str, Any]:
    """Cores, CPU, Python, SQLite and the versions of the libraries that matter."""
    libraries: dict[str, Any] = {name: _version(name) for name in LIBRARIES}
    libraries["sqlite"] = sqlite3.sqlite_version
    return {
        "cores": os.cpu_count() or 1,
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "libraries": libraries,
    }
