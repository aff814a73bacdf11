"""The built wheel carries the protocol and every schema, and installs cleanly."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(ROOT),
        ],
        check=True,
    )
    (built,) = out.glob("tredegar-*.whl")
    return built


def test_every_schema_is_in_the_wheel(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    schemas = {
        path.relative_to(ROOT).as_posix() for path in (ROOT / "schemas").rglob("*.json")
    }
    assert len(schemas) >= 42
    assert schemas <= names
    assert "protocol/__init__.py" in names
    assert not any(name.startswith("tests/") for name in names)


def test_the_wheel_works_in_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    # The fresh venv borrows this one's packages, so no network is needed to
    # install dependencies; the wheel itself is installed without them.
    venv.create(env_dir, with_pip=True, system_site_packages=False)
    python = env_dir / "bin" / "python"
    # Where this environment's dependencies live (cryptography, orjson …).
    site = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sysconfig; print(sysconfig.get_path('purelib'))",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)],
        check=True,
    )
    script = (
        "import sys; sys.path.append(sys.argv[1]); "
        "import schemas, protocol; "
        "v = protocol.BodyValidator(schemas.load_event_schemas()); "
        "assert len(v.types) == 41, len(v.types); "
        "assert schemas.load_envelope_schema()['title']; "
        "print(protocol.__file__)"
    )
    result = subprocess.run(
        [str(python), "-c", script, site],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert str(env_dir) in result.stdout
