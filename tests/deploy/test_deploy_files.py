"""The deployment files in deploy/ hold together, as far as this machine can tell.

The compose file parses and names every service with its image or build,
health check and volumes; the systemd units pass ``systemd-analyze verify``
where it exists and parse as INI with the keys they need everywhere; the
container file installs only what ``pyproject.toml`` declares; the reverse
proxies pass the client's address on and do not buffer server-sent events.
"""

from __future__ import annotations

import configparser
import itertools
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from node.storage.backend import postgres_target

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"
SYSTEMD = DEPLOY / "systemd"
UNITS = ("tredegar.service", "tredegar-backup.service", "tredegar-backup.timer")
NODES = ("node-a", "node-b", "node-c")
NODE_PORT = 8484


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DEPLOY / "compose.yaml").read_text("utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _services() -> dict[str, dict[str, Any]]:
    services = _compose()["services"]
    assert isinstance(services, dict)
    return services


# --- compose -----------------------------------------------------------------


def test_compose_names_every_service() -> None:
    assert set(_services()) == {*NODES, "postgres", "caddy"}


@pytest.mark.parametrize("name", NODES)
def test_each_node_is_built_from_the_container_file(name: str) -> None:
    service = _services()[name]
    build = service["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == (
        DEPLOY / "Containerfile"
    ).resolve()
    assert service["image"].startswith("tredegar")
    assert "/health" in " ".join(service["healthcheck"]["test"])
    assert f"{name}-data:/data" in service["volumes"]


@pytest.mark.parametrize("name", NODES)
def test_each_node_runs_and_peers_with_the_other_two(name: str) -> None:
    command = _services()[name]["command"]
    all_interfaces = "0.0.0.0"  # noqa: S104 - inside the container's own network
    assert command[:5] == ["run", "--data", "/data", "--host", all_interfaces]
    peers = {command[i + 1] for i, word in enumerate(command) if word == "--peer"}
    others = {f"http://{other}:{NODE_PORT}" for other in NODES if other != name}
    assert peers == others


def test_nodes_use_only_settings_the_node_has() -> None:
    from node.config import ENV_PREFIX, Settings

    known = {ENV_PREFIX + name.upper() for name in Settings.__dataclass_fields__}
    for name in NODES:
        variables = set(_services()[name]["environment"])
        assert {v for v in variables if v.startswith(ENV_PREFIX)} <= known


def test_trusted_proxy_is_the_address_caddy_is_given() -> None:
    services = _services()
    caddy_address = services["caddy"]["networks"]["tredegar"]["ipv4_address"]
    for name in NODES:
        proxies = services[name]["environment"]["TREDEGAR_TRUSTED_PROXIES"]
        assert proxies == caddy_address


def test_postgres_and_caddy_have_images_health_checks_and_volumes() -> None:
    services = _services()
    postgres, caddy = services["postgres"], services["caddy"]
    assert postgres["image"].startswith("postgres:")
    assert "pg_isready" in postgres["healthcheck"]["test"]
    assert "postgres-data:/var/lib/postgresql/data" in postgres["volumes"]
    assert caddy["image"].startswith("caddy:")
    assert caddy["healthcheck"]["test"]
    assert "./caddy/Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    assert (DEPLOY / "caddy" / "Caddyfile").is_file()
    assert {"443:443", "80:80"} <= set(caddy["ports"])


def test_every_named_volume_is_declared() -> None:
    compose = _compose()
    used = {
        volume.split(":", 1)[0]
        for service in compose["services"].values()
        for volume in service.get("volumes", [])
        if not volume.startswith((".", "/"))
    }
    assert used == set(compose["volumes"])


# --- container file ----------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Containerfile").read_text("utf-8")
    joined = re.sub(r"\\\n", " ", text)
    lines = [line.strip() for line in joined.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def _pip_commands() -> list[list[str]]:
    commands = []
    for instruction, argument in _instructions():
        if instruction != "RUN":
            continue
        for part in re.split(r"&&|;", argument):
            words = shlex.split(part)
            if "pip" in words and ({"install", "wheel"} & set(words)):
                commands.append(words[words.index("pip") + 1 :])
    return commands


def _dependency_names() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    names = {project["name"]}
    for requirement in project["dependencies"]:
        match = re.match(r"[A-Za-z0-9._-]+", requirement)
        assert match
        names.add(match.group(0).lower().replace("_", "-"))
    return names


def test_container_file_installs_only_what_the_project_declares() -> None:
    commands = _pip_commands()
    assert [words[0] for words in commands] == ["wheel", "install"]
    wheel, install = commands
    # The first stage builds the project (and so its declared dependencies).
    assert [w for w in wheel[1:] if not w.startswith("-")][-1] == "."
    # The second installs the project from those wheels only, offline.
    assert "--no-index" in install
    options_with_values = {"--find-links", "--wheel-dir", "-f", "-w"}
    packages = [
        word
        for previous, word in itertools.pairwise(install)
        if not word.startswith("-") and previous not in options_with_values
    ]
    assert packages == ["tredegar"]
    assert set(packages) <= _dependency_names()
    assert not any("requirements" in word for words in commands for word in words)


def test_container_file_has_no_other_package_manager() -> None:
    runs = " ".join(a for i, a in _instructions() if i == "RUN")
    for manager in ("apt-get", "apt ", "apk ", "conda", "poetry", "uv "):
        assert manager not in runs


def test_container_file_is_small_non_root_and_healthy() -> None:
    instructions = _instructions()
    bases = [a.split()[0] for i, a in instructions if i == "FROM"]
    assert bases == ["python:3.11-slim", "python:3.11-slim"]
    users = [a for i, a in instructions if i == "USER"]
    assert users
    assert users[-1] not in ("root", "0")
    (health,) = [a for i, a in instructions if i == "HEALTHCHECK"]
    assert f"127.0.0.1:{NODE_PORT}/health" in health
    assert any(i == "VOLUME" and "/data" in a for i, a in instructions)
    (command,) = [a for i, a in instructions if i == "CMD"]
    assert command == '["run", "--data", "/data", "--host", "0.0.0.0"]'


def test_container_entrypoint_is_valid_shell() -> None:
    script = DEPLOY / "container" / "entrypoint.sh"
    assert script.stat().st_mode & 0o111
    subprocess.run(["sh", "-n", str(script)], check=True)


# --- systemd -----------------------------------------------------------------


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(
        strict=False, interpolation=None, empty_lines_in_values=False
    )
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((SYSTEMD / name).read_text("utf-8"))
    return parser


def test_node_unit_runs_the_node_sandboxed() -> None:
    unit = _unit("tredegar.service")
    service = unit["Service"]
    assert service["ExecStart"] == (
        "/opt/tredegar/venv/bin/tredegar run --data /var/lib/tredegar"
    )
    assert service["User"] == "tredegar"
    expected = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "ReadWritePaths": "/var/lib/tredegar",
        "CapabilityBoundingSet": "",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    }
    for key, value in expected.items():
        assert service[key] == value, key
    assert "@system-service" in (SYSTEMD / "tredegar.service").read_text("utf-8")
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_backup_unit_backs_up_the_node_and_keeps_the_last_few() -> None:
    service = _unit("tredegar-backup.service")["Service"]
    assert service["Type"] == "oneshot"
    assert service["User"] == "tredegar"
    command = service["ExecStart"]
    assert "/opt/tredegar/venv/bin/tredegar backup --data /var/lib/tredegar" in command
    assert "--to " in command
    assert re.search(r"tail -n \+\d+ \| xargs -r rm -rf", service["ExecStartPost"])


def test_backup_timer_runs_daily_and_catches_up() -> None:
    timer = _unit("tredegar-backup.timer")
    assert timer["Timer"]["OnCalendar"]
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["Unit"] == "tredegar-backup.service"
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_backup_command_options_exist() -> None:
    from node.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["backup", "--data", "/var/lib/tredegar", "--to", "/b"])
    assert (args.data, args.to) == ("/var/lib/tredegar", "/b")
    args = parser.parse_args(["run", "--data", "/var/lib/tredegar"])
    assert args.command == "run"


def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed on this machine")
    # verify checks that ExecStart's program exists: stand one in for the venv.
    program = tmp_path / "tredegar"
    program.write_text("#!/bin/sh\n", "utf-8")
    program.chmod(0o755)
    for name in UNITS:
        text = (SYSTEMD / name).read_text("utf-8")
        text = text.replace("/opt/tredegar/venv/bin/tredegar", str(program))
        (tmp_path / name).write_text(text, "utf-8")
    result = subprocess.run(
        [analyze, "verify", *(str(tmp_path / name) for name in UNITS)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 and "sysinit.target" in result.stderr:
        pytest.skip(f"systemd-analyze cannot load the system units: {result.stderr}")
    assert result.returncode == 0, result.stderr
    assert "tredegar" not in result.stderr, result.stderr


# --- reverse proxies ---------------------------------------------------------


def _nginx_location(text: str, location: str) -> str:
    # In the TLS server block: the plain-HTTP one only redirects.
    start = text.index(f"location {location} {{", text.index("listen 443"))
    return text[start : text.index("}", start)]


def test_nginx_passes_the_client_address_and_streams_events() -> None:
    text = (DEPLOY / "nginx" / "tredegar.conf").read_text("utf-8")
    assert "proxy_pass http://tredegar_node;" in text
    assert f"server 127.0.0.1:{NODE_PORT};" in text
    assert "ssl_certificate " in text
    assert re.search(r"client_max_body_size \d+[km]?;", text)
    root = _nginx_location(text, "/")
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in root
    stream = _nginx_location(text, "= /events/stream")
    assert "proxy_buffering off;" in stream
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in stream
    assert re.search(r"proxy_read_timeout \d+[hm];", stream)


def test_caddyfile_proxies_each_host_to_its_node() -> None:
    text = (DEPLOY / "caddy" / "Caddyfile").read_text("utf-8")
    assert "flush_interval -1" in text
    for name, letter in zip(NODES, "abc", strict=True):
        block = text[text.index(f"{letter}.localhost {{") :]
        block = block[: block.index("}")]
        assert "tls internal" in block
        assert f"import node_proxy {name}:{NODE_PORT}" in block
    assert "reverse_proxy {args[0]}" in text


def test_caddy_fronts_each_node_at_its_public_url() -> None:
    text = (DEPLOY / "caddy" / "Caddyfile").read_text("utf-8")
    for name in NODES:
        url = _services()[name]["environment"]["TREDEGAR_PUBLIC_URL"]
        host = url.removeprefix("https://")
        assert f"\n{host} {{" in text


# --- the operator's guide ----------------------------------------------------


def test_operating_guide_names_only_real_commands() -> None:
    from node.cli import build_parser

    parser = build_parser()
    choices = next(
        action.choices for action in parser._actions if isinstance(action.choices, dict)
    )
    text = (ROOT / "docs" / "operating.md").read_text("utf-8")
    named = set(
        re.findall(r"bin/tredegar ([a-z][a-z-]+)|`tredegar ([a-z][a-z-]+)", text)
    )
    commands = {a or b for a, b in named}
    assert {"init", "run", "backup", "restore", "key"} <= commands
    assert commands <= set(choices), commands - set(choices)


def test_operating_guide_names_the_deploy_files() -> None:
    text = (ROOT / "docs" / "operating.md").read_text("utf-8")
    for path in (
        "deploy/compose.yaml",
        "deploy/Containerfile",
        "deploy/caddy/Caddyfile",
        "deploy/nginx/tredegar.conf",
        "deploy/systemd/tredegar.service",
        "deploy/systemd/tredegar-backup.service",
    ):
        assert (ROOT / path).is_file(), path
        assert path.removeprefix("deploy/") in text, path


def test_one_node_keeps_its_data_in_the_postgres_service() -> None:
    services = _services()
    big = services["node-c"]
    url = big["environment"]["TREDEGAR_DATABASE_URL"]
    target = postgres_target(url.replace("${POSTGRES_PASSWORD:-change-me}", "pw"))
    postgres = services["postgres"]["environment"]
    assert target.host == "postgres"
    assert (target.user, target.dbname) == (
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_DB"],
    )
    assert big["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert big["command"][big["command"].index("--workers") + 1] == "2"
    for name in set(NODES) - {"node-c"}:
        assert "TREDEGAR_DATABASE_URL" not in services[name]["environment"]
