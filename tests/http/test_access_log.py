"""The access log survives requests that were refused before routing."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from node.http.app import AccessLogger, create_app
from node.services.runtime import NodeServices
from tests.http.conftest import make_settings


@pytest.mark.parametrize(
    "head",
    [
        b"GET /health HTTP/1.1\r\nHost: x\r\nX-Probe: \x00\r\n\r\n",
        b"GET /" + b"a" * 40_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"NOT HTTP AT ALL\r\n\r\n",
    ],
)
async def test_a_request_refused_before_routing_is_logged(
    tmp_path: Path, head: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    settings, _ = make_settings(tmp_path)
    services = NodeServices.open(settings)
    server = TestServer(create_app(settings, services))
    await server.start_server(
        access_log_class=AccessLogger, access_log=logging.getLogger("node.access")
    )
    try:
        with caplog.at_level(logging.INFO):
            reader, writer = await asyncio.open_connection(server.host, server.port)
            writer.write(head)
            await writer.drain()
            status_line = await reader.readline()
            writer.close()
            await reader.read()
        assert status_line.split()[1] == b"400", status_line
        assert "Unhandled exception" not in caplog.text
        assert "AssertionError" not in caplog.text
    finally:
        await server.close()
        services.close()
