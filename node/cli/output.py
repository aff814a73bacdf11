"""Printing results: human text, or exactly one JSON object with ``--json``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

import orjson

from node.config import Settings, load_settings
from node.errors import NodeError
from protocol import ProtocolError

__all__ = ["emit", "fail", "settings_for"]

logger = logging.getLogger("node.cli")


def emit(args: argparse.Namespace, value: dict[str, Any], text: str) -> None:
    """Print ``value`` as JSON with ``--json``, else ``text``."""
    if args.json:
        sys.stdout.write(orjson.dumps(value, default=str).decode() + "\n")
    else:
        sys.stdout.write(text.rstrip("\n") + "\n")
    sys.stdout.flush()


def fail(args: argparse.Namespace, error: BaseException) -> int:
    """Report a failure once and return the exit status 1."""
    if isinstance(error, NodeError | ProtocolError):
        code, message = error.code, error.message
    else:
        logger.error("unexpected failure", exc_info=error)
        code, message = "internal", f"{type(error).__name__}: {error}"
    if getattr(args, "json", False):
        emit(args, {"error": {"code": code, "message": message}}, "")
    sys.stderr.write(f"tredegar: {message}\n")
    return 1


def settings_for(args: argparse.Namespace, **overrides: Any) -> Settings:
    """Settings of ``--data``, from its file and the environment."""
    return load_settings(Path(args.data), os.environ, overrides)
