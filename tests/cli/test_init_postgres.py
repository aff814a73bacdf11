"""``tredegar init --database-url``: a new node in PostgreSQL, and its refusals."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

from tests.network.conftest import tredegar_json
from tests.pg import scratch_url


def test_init_puts_a_node_in_postgresql_and_refuses_a_schema_in_use(
    tmp_path: Path,
) -> None:
    with scratch_url("init") as url:
        made = tredegar_json(
            "init",
            "--data",
            tmp_path / "a",
            "--name",
            "Big Group",
            "--database-url",
            url,
        )
        config = tmp_path / "a" / "tredegar.toml"
        assert tomllib.loads(config.read_text("utf-8"))["database_url"] == url
        assert stat.S_IMODE(config.stat().st_mode) == 0o600  # it may hold a password
        assert not (tmp_path / "a" / "feeds.db").exists()
        verified = tredegar_json("verify", "--data", tmp_path / "a")
        assert verified.code == 0, verified.stderr
        assert made.value["feed"].startswith("ed25519:")

        again = tredegar_json(
            "init",
            "--data",
            tmp_path / "b",
            "--name",
            "Another Group",
            "--database-url",
            url,
            expect_success=False,
        )
        assert again.code != 0
        assert "already holds a node" in again.value.get("detail", str(again.value))
        assert not (tmp_path / "b" / "feed.key").exists()
        assert not (tmp_path / "b" / "tredegar.toml").exists()  # a retry may follow
