"""Requests generated from ``schemas/openapi.yaml`` against a real node.

Schemathesis reads the spec and sends each operation valid and invalid
parameters, bodies and headers (NUL bytes, huge numbers, odd encodings …)
from the organiser's token. Whatever it sends, the node must answer without a
server error and without an unhandled exception in its log. Publishing is
left out: its body is every event schema at once, which the generator cannot
build, and ``tests/network/test_node_process.py`` and the vectors cover it.
Erasing oneself is left out too, or every later request would be a 401.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import aiohttp

from tests.network.conftest import Node, clean_environment

SPEC = Path(__file__).parents[2] / "schemas" / "openapi.yaml"
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
#: Examples per operation: enough to try every parameter's edges, small
#: enough to keep the run under a minute on two cores.
EXAMPLES = "12"


async def seed(node: Node) -> None:
    """A meeting and a campaign, so some generated ids and filters find things."""
    events = [
        {
            "type": "meeting.scheduled",
            "body": {
                "title": "Advice surgery",
                "kind": "advice_surgery",
                "starts_at": 1_800_000_000_000,
                "ends_at": 1_800_003_600_000,
                "tz": "Europe/London",
                "place": {"name": "The Institute", "lat_e6": 51772500},
                "recurrence": {"freq": "weekly", "by_day": ["TU"]},
            },
        },
        {
            "type": "campaign.launched",
            "body": {
                "title": "Save the baths",
                "target": {"name": "The council", "kind": "council"},
                "demands": ["Keep the baths open"],
            },
        },
    ]
    events[0]["body"]["place"]["lon_e6"] = -3246790  # type: ignore[index]
    async with aiohttp.ClientSession(headers=node.auth) as session:
        for event in events:
            async with session.post(f"{node.url}/api/v1/events", json=event) as answer:
                assert answer.status == 201, await answer.text()


async def warm_gazetteer(node: Node) -> None:
    """Build the place index first: a fresh node builds it at its first lookup
    by place name, which takes seconds, longer than the fuzzer waits."""
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        url = f"{node.url}/api/v1/places"
        async with session.get(url, params={"q": "Tredegar"}) as answer:
            assert answer.status == 200, await answer.text()


async def test_no_generated_request_is_a_server_error(
    node: Node, tmp_path: Path
) -> None:
    await seed(node)
    await warm_gazetteer(node)
    command = [
        str(SCHEMATHESIS),
        "run",
        str(SPEC),
        "--url",
        node.url,
        "--header",
        f"Authorization: Bearer {node.token}",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        EXAMPLES,
        "--seed",
        "20261130",
        "--workers",
        "1",
        "--exclude-operation-id",
        "publishEvent",
        "--exclude-operation-id",
        "eraseMe",
        "--exclude-operation-id",
        "fedNotify",
        "--generation-database",
        "none",
        "--no-color",
    ]
    done = await asyncio.to_thread(
        subprocess.run,
        command,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp_path,  # its caches stay out of the checkout
        env=clean_environment({"SCHEMATHESIS_TELEMETRY": "false"}),
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "Unhandled exception" not in node.log(), node.log()[-6000:]
