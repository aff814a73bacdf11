"""The ``tredegar`` command, run as a subprocess exactly as an operator runs it.

Most tests need no running node; those that do start one with the helpers of
``tests/network/conftest.py`` (a real ``tredegar run`` on loopback).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from node.cli import build_parser
from node.storage.lock import DataDirLock
from tests.network.conftest import (
    TREDEGAR,
    Json,
    Node,
    NodeFactory,
    clean_environment,
    eventually,
    free_port,
    guide,
    health,
    list_all,
    publish,
    running,
    search,
    tredegar,
    tredegar_json,
)


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[NodeFactory]:
    """Real nodes under ``tmp_path``, stopped at teardown."""
    factory = NodeFactory(tmp_path)
    yield factory
    factory.close()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory made by ``init``, never run: copy it, don't change it."""
    data = tmp_path_factory.mktemp("template") / "data"
    tredegar_json("init", "--data", data, "--name", "Template Group")
    return data


def _copy(template: Path, tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(template, data)
    (data / "node.lock").unlink(missing_ok=True)
    return data


# --- init --------------------------------------------------------------------


def test_init_json_prints_feed_token_and_url(tmp_path: Path) -> None:
    data, port = tmp_path / "data", free_port()
    done = tredegar(
        "init",
        "--data",
        data,
        "--name",
        "Cwmbran Tenants",
        "--port",
        str(port),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    made = json.loads(line)
    assert set(made) == {"feed", "token", "url"}
    assert made["url"] == f"http://127.0.0.1:{port}"
    assert made["feed"].startswith("ed25519:")
    assert made["token"].startswith("tdg_")
    assert (data / "feed.key").stat().st_mode & 0o777 == 0o600


def test_init_refuses_a_directory_holding_a_node(
    template: Path, tmp_path: Path
) -> None:
    data = _copy(template, tmp_path)
    before = _contents(data)
    again = tredegar_json(
        "init", "--data", data, "--name", "Usurper", expect_success=False
    )
    assert again.code != 0
    assert again.value["error"]["code"] == "conflict"
    assert _contents(data) == before  # the key above all, byte for byte


def _contents(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def test_init_into_a_directory_with_an_unrelated_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "README.txt").write_text("notes of the steering group\n")
    made = tredegar_json("init", "--data", data, "--name", "Blaina Mutual Aid").value
    assert set(made) == {"feed", "token", "url"}
    assert (data / "README.txt").read_text() == "notes of the steering group\n"
    assert tredegar_json("verify", "--data", data).value["checked"] == 1


# --- help --------------------------------------------------------------------


def _commands(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    found = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _commands(sub, (*prefix, name))
    return found


def test_every_command_answers_help() -> None:
    commands = _commands(build_parser())
    expected = {"init", "run", "token", "verify", "export", "import", "backup"}
    expected |= {"restore", "reindex"}
    assert expected <= {c[0] for c in commands if c}
    assert {("token", "create"), ("token", "revoke"), ("token", "list")} <= set(
        commands
    )
    running = [
        (
            command,
            subprocess.Popen(
                [str(TREDEGAR), *command, "--help"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=clean_environment(),
            ),
        )
        for command in commands
    ]
    for command, process in running:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, (command, err)
        assert b"usage: tredegar" in out, command


# --- configuration -----------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ('colour = "red"', "'colour'"),
        ('port = "high"', "'port'"),
        ('max_request_bytes = "lots"', "'max_request_bytes'"),
        ('authoritative = "maybe"', "'authoritative'"),
        ("host = 5", "'host'"),
    ],
)
def test_a_bad_setting_stops_run_at_start_naming_it(
    template: Path, tmp_path: Path, setting: str, named: str
) -> None:
    data = _copy(template, tmp_path)
    (data / "tredegar.toml").write_text(setting + "\n")
    done = tredegar("run", "--data", data, "--port", str(free_port()), timeout=20)
    assert done.returncode != 0
    assert named in done.stderr


def test_a_bad_environment_value_stops_run_naming_the_setting(
    template: Path, tmp_path: Path
) -> None:
    data = _copy(template, tmp_path)
    done = tredegar(
        "run", "--data", data, env={"TREDEGAR_PORT": "notanumber"}, timeout=20
    )
    assert done.returncode != 0
    assert "'port'" in done.stderr


async def test_an_unknown_environment_variable_only_warns(nodes: NodeFactory) -> None:
    node = nodes.init(env={"TREDEGAR_SOMETHING": "1"})
    async with aiohttp.ClientSession() as session:
        assert (await health(session, node))["feed"] == node.feed
    assert "TREDEGAR_SOMETHING" in node.log()


def test_the_unknown_variable_warning_is_a_json_log_line(
    template: Path, tmp_path: Path
) -> None:
    data = _copy(template, tmp_path)
    # The lock is taken after logging is configured and settings are read:
    # holding it makes run stop right there, with nothing else logged.
    with DataDirLock(data):
        done = tredegar("run", "--data", data, env={"TREDEGAR_SOMETHING": "1"})
    assert done.returncode != 0
    (warning,) = [line for line in done.stderr.splitlines() if "SOMETHING" in line]
    record = json.loads(warning)
    assert record["level"] == "warning"
    assert "TREDEGAR_SOMETHING" in record["msg"]


# --- export and import -------------------------------------------------------


async def _publish_guides(node: Node, numbers: range) -> list[Json]:
    async with aiohttp.ClientSession() as session:
        return [await publish(session, node, n) for n in numbers]


def _export(node: Node, path: Path) -> list[bytes]:
    result = tredegar_json("export", "--data", node.data, "--out", path)
    assert result.value == {"exported": result.value["exported"], "file": str(path)}
    lines = path.read_bytes().splitlines()
    assert len(lines) == result.value["exported"]
    return lines


async def test_export_then_import_into_another_node(
    nodes: NodeFactory, tmp_path: Path
) -> None:
    first = nodes.init("first")
    await _publish_guides(first, range(2, 7))
    assert first.stop() == 0
    lines = _export(first, tmp_path / "first.ndjson")
    assert len(lines) == 6
    assert [json.loads(line)["seq"] for line in lines] == list(range(1, 7))

    second = nodes.init("second", start=False)
    imported = tredegar_json("import", "--data", second.data, tmp_path / "first.ndjson")
    assert imported.value == {"stored": 6, "refused": 0, "errors": []}
    assert tredegar_json("verify", "--data", second.data).value == {
        "checked": 7,
        "problems": [],
    }
    again = tredegar_json("import", "--data", second.data, tmp_path / "first.ndjson")
    assert again.value == {"stored": 0, "refused": 0, "errors": []}

    second.start()
    async with aiohttp.ClientSession() as session:

        async def replicated() -> bool:
            return len(await list_all(session, second, feed=first.feed)) == 6

        await eventually(replicated, what="the imported feed in the listing")
        assert (await health(session, second))["feed"] == second.feed


def test_import_reports_a_tampered_line_and_stores_the_good_ones(
    template: Path, tmp_path: Path
) -> None:
    source = _copy(template, tmp_path / "source")
    (tmp_path / "target").mkdir()
    tredegar_json("init", "--data", tmp_path / "target", "--name", "Target Group")
    exported = tmp_path / "source.ndjson"
    tredegar_json("export", "--data", source, "--out", exported)
    (profile,) = exported.read_bytes().splitlines()
    feed = json.loads(profile)["feed"]
    tampered = json.loads(profile)
    tampered["body"]["name"] = "Template Grouq"
    # A good line for another feed too: the export of a third node.
    third = tmp_path / "third"
    tredegar_json("init", "--data", third, "--name", "Third Group")
    third_line = tredegar("export", "--data", third).stdout.encode().strip()
    mixed = tmp_path / "mixed.ndjson"
    mixed.write_bytes(json.dumps(tampered).encode() + b"\n" + third_line + b"\n")

    result = tredegar_json(
        "import", "--data", tmp_path / "target", mixed, expect_success=False
    )
    assert result.code != 0
    assert result.value["stored"] == 1
    assert result.value["refused"] == 1
    assert result.value["errors"][0].startswith("bad-body-hash")
    held = tredegar("export", "--data", tmp_path / "target").stdout.splitlines()
    feeds = [json.loads(line)["feed"] for line in held]
    assert feed not in feeds
    assert json.loads(third_line)["feed"] in feeds


# --- backup and restore ------------------------------------------------------


async def test_backup_while_publishing_then_restore(
    nodes: NodeFactory, tmp_path: Path
) -> None:
    origin = nodes.init("origin")
    acknowledged: list[str] = []
    stop = asyncio.Event()

    async def publish_until_stopped(session: aiohttp.ClientSession) -> None:
        n = 1
        while not stop.is_set():
            n += 1
            acknowledged.append((await publish(session, origin, n))["id"])

    backup = tmp_path / "backup"
    async with aiohttp.ClientSession() as session:
        publisher = asyncio.create_task(publish_until_stopped(session))

        async def publishing() -> bool:
            return running(publisher) and len(acknowledged) >= 10

        await eventually(publishing, what="the first publishes")
        before = len(acknowledged)
        done = await asyncio.to_thread(
            tredegar, "backup", "--data", origin.data, "--to", backup
        )
        during = len(acknowledged) - before
        stop.set()
        await asyncio.wait_for(publisher, timeout=15)
    assert done.returncode == 0, done.stderr
    assert during > 0, "the client should have published while the backup ran"

    restored = tmp_path / "restored"
    tredegar_json("restore", "--data", restored, "--from", backup)
    checked = tredegar_json("verify", "--data", restored).value
    assert checked["problems"] == []
    seq: int = checked["checked"]
    assert before + 1 <= seq <= len(acknowledged) + 1

    copy = nodes.adopt("restored", restored, feed=origin.feed, token=origin.token)
    copy.start()
    async with aiohttp.ClientSession() as session:
        assert await health(session, copy) == {
            "status": "ok",
            "feed": origin.feed,
            "seq": seq,
        }

        async def listed() -> bool:
            return len(await list_all(session, copy)) == seq

        await eventually(listed, what="the restored node's read models")
        ids = [e["id"] for e in await list_all(session, copy)]
        assert ids[1:] == acknowledged[: seq - 1]
        async with session.post(
            f"{copy.url}/api/v1/events", json=guide(1000), headers=copy.auth
        ) as response:
            assert response.status == 503
            assert response.content_type == "application/problem+json"
            assert (await response.json(content_type=None))["code"] == "catching-up"
        assert (await health(session, copy))["seq"] == seq
    assert copy.stop() == 0

    copy.start("--authoritative")
    async with aiohttp.ClientSession() as session:
        answer = await publish(session, copy, 1001)
    assert answer["seq"] == seq + 1
    assert answer["prev"] == acknowledged[seq - 2]


def test_restore_refuses_a_directory_that_is_not_empty(
    template: Path, tmp_path: Path
) -> None:
    backup = tmp_path / "backup"
    tredegar_json("backup", "--data", template, "--to", backup)
    target = tmp_path / "occupied"
    target.mkdir()
    (target / "notes.txt").write_text("keep me\n")
    result = tredegar_json(
        "restore", "--data", target, "--from", backup, expect_success=False
    )
    assert result.code != 0
    assert result.value["error"]["code"] == "conflict"
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]


def test_backup_and_restore_keep_private_files_private(
    template: Path, tmp_path: Path
) -> None:
    backup, restored = tmp_path / "backup", tmp_path / "restored"
    tredegar_json("backup", "--data", template, "--to", backup)
    tredegar_json("restore", "--data", restored, "--from", backup)
    for directory in (template, backup, restored):
        modes = {
            name: (directory / name).stat().st_mode & 0o777
            for name in ("feed.key", "private.key", "private.db")
        }
        assert modes == dict.fromkeys(modes, 0o600), (directory.name, modes)


# --- tokens ------------------------------------------------------------------


def test_token_create_prints_only_the_token_and_list_hides_secrets(
    template: Path, tmp_path: Path
) -> None:
    data = _copy(template, tmp_path)
    secrets = []
    for role in ("organiser", "member", "member"):
        made = tredegar_json("token", "create", "--data", data, "--role", role).value
        assert set(made) == {"token"}
        assert made["token"].startswith("tdg_")
        secrets.append(made["token"])
    listing = tredegar("token", "list", "--data", data, "--json")
    assert listing.returncode == 0, listing.stderr
    (line,) = listing.stdout.splitlines()
    tokens = json.loads(line)["tokens"]
    assert [t["role"] for t in tokens] == ["organiser", "organiser", "member", "member"]
    for secret in secrets:
        assert secret not in listing.stdout
        assert secret[4:] not in listing.stdout
        assert hashlib.sha256(secret.encode()).hexdigest() not in listing.stdout
    assert {t["token_id"] for t in tokens} >= {
        hashlib.sha256(s.encode()).hexdigest()[:12] for s in secrets
    }


# --- reindex -----------------------------------------------------------------


async def test_reindex_gives_identical_answers(nodes: NodeFactory) -> None:
    node = nodes.init()
    await _publish_guides(node, range(2, 12))
    queries = ("Guide", "street stall", "leaflets rota", "Guide 7", "nothing here")
    async with aiohttp.ClientSession() as session:

        async def projected() -> bool:
            return len(await list_all(session, node)) == 11

        await eventually(projected, what="the read models")
        listing = await list_all(session, node)
        found = {q: await search(session, node, q) for q in queries}
    assert node.stop() == 0
    assert tredegar_json("reindex", "--data", node.data).value == {"reindexed": 11}
    node.start()
    async with aiohttp.ClientSession() as session:
        assert await list_all(session, node) == listing
        for q in queries:
            assert await search(session, node, q) == found[q], q
    assert len(found["Guide"]) == 10
    assert found["nothing here"] == []
