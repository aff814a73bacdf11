"""Which learned peers a node may dial (``docs/protocol.md#finding-peers``).

Nobody may make a public node dial into its own network: a peer learned from
the network (peer exchange, a notify) whose host is a loopback, private,
link-local or otherwise non-public address is accepted only when the node's
own public URL is in such a range too (a LAN or a test network), or when the
operator allows it. Peers the operator adds are always tried. Host names are
resolved and every address they resolve to must pass.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

__all__ = ["is_private_url", "may_dial"]


def _is_private_address(text: str) -> bool:
    address = ipaddress.ip_address(text.split("%", 1)[0])
    return not address.is_global or address.is_multicast


def is_private_url(url: str) -> bool | None:
    """Whether a URL's host is private, when it is an address or localhost.

    Returns:
        True or False for a literal address or localhost; None for a name.
    """
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return _is_private_address(host)
    except ValueError:
        return None


async def _resolves_private(url: str) -> bool:
    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(
            parts.hostname, parts.port or 80, type=socket.SOCK_STREAM
        )
    except OSError:
        return True  # cannot tell: refuse
    return any(_is_private_address(str(info[4][0])) for info in infos)


async def may_dial(url: str, *, own_url: str, allow_private: bool) -> bool:
    """Tell whether a learned peer may be dialled.

    Args:
        url: The learned peer's URL.
        own_url: This node's public URL.
        allow_private: The operator allows private addresses.

    Returns:
        True when the peer's host is public, or private ranges are allowed.
    """
    if allow_private or is_private_url(own_url) is True:
        return True
    literal = is_private_url(url)
    if literal is not None:
        return not literal
    return not await _resolves_private(url)
