"""The publish baseline: a bare aiohttp handler that signs and inserts.

Run as ``python -m node.bench.bare PORT DB``: ``POST /`` takes a JSON
``{type, body}``, signs the next event of a fresh feed with the same crypto
library and canonical encoding as the node, and inserts it into SQLite in
its own durable transaction (WAL, ``synchronous=FULL``), as the node commits
each published event. No schema check, no read models, no authentication.
"""

from __future__ import annotations

import sqlite3
import sys
import time

import orjson
from aiohttp import web

from protocol import Event, SigningKey, sign

__all__ = ["make_app"]


def make_app(path: str) -> web.Application:
    """The bare app, storing in the SQLite file at ``path``."""
    database = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    database.execute("PRAGMA journal_mode=WAL")
    database.execute("PRAGMA synchronous=FULL")
    database.execute(
        "CREATE TABLE IF NOT EXISTS events "
        "(feed TEXT, seq INTEGER, id TEXT, wire BLOB, PRIMARY KEY (feed, seq))"
    )
    key = SigningKey.generate()
    head: list[Event | None] = [None]

    async def publish(request: web.Request) -> web.Response:
        asked = orjson.loads(await request.read())
        event = sign(
            key, head[0], int(time.time() * 1000), asked["type"], asked["body"]
        )
        head[0] = event
        database.execute("BEGIN")
        database.execute(
            "INSERT INTO events VALUES (?, ?, ?, ?)",
            (event.feed, event.seq, event.id, event.wire_bytes()),
        )
        database.execute("COMMIT")
        return web.json_response({"id": event.id, "seq": event.seq}, status=201)

    app = web.Application()
    app.router.add_post("/", publish)
    return app


if __name__ == "__main__":
    web.run_app(
        make_app(sys.argv[2]), host="127.0.0.1", port=int(sys.argv[1]), print=None
    )
