"""Which address a request counts against, behind trusted reverse proxies."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

from node.config import load_settings
from node.http.ratelimit import client_address

PROXIES = frozenset({"127.0.0.1", "10.0.0.2"})


def request_from(remote: str, *forwarded: str) -> web.Request:
    headers = CIMultiDict(("X-Forwarded-For", value) for value in forwarded)
    transport = mock.Mock()
    transport.get_extra_info.return_value = (remote, 4321)
    return make_mocked_request("POST", "/api/v1/session", headers, transport=transport)


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("203.0.113.9", (), "203.0.113.9"),
        # Not from a trusted proxy: the header is anyone's to forge.
        ("203.0.113.9", ("198.51.100.1",), "203.0.113.9"),
        ("127.0.0.1", ("198.51.100.1",), "198.51.100.1"),
        # The client wrote its own header first; the proxy appended the truth.
        ("127.0.0.1", ("6.6.6.6, 198.51.100.1",), "198.51.100.1"),
        # Two trusted proxies in a row are skipped.
        ("127.0.0.1", ("198.51.100.1, 10.0.0.2",), "198.51.100.1"),
        ("127.0.0.1", ("6.6.6.6", "198.51.100.7"), "198.51.100.7"),
        ("127.0.0.1", (), "127.0.0.1"),
        ("127.0.0.1", ("10.0.0.2",), "127.0.0.1"),
    ],
)
def test_the_client_is_the_last_untrusted_hop(
    remote: str, forwarded: tuple[str, ...], expected: str
) -> None:
    request = request_from(remote, *forwarded)
    assert client_address(request, PROXIES) == expected


def test_trusted_proxies_come_from_the_settings(tmp_path: Path) -> None:
    environ = {"TREDEGAR_TRUSTED_PROXIES": " 127.0.0.1, ::1 ,"}
    settings = load_settings(tmp_path, environ)
    assert settings.proxies == frozenset({"127.0.0.1", "::1"})
    assert load_settings(tmp_path, {}).proxies == frozenset()
