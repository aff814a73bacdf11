"""The browser rig: Debian's Chromium driven by Playwright, axe-core, screenshots.

The walks in this package drive a real browser against real node processes
(``tests/network/conftest.py``'s :class:`NodeFactory`). Chromium is Debian's
``/usr/bin/chromium``, never a browser Playwright downloads: when it is
missing and this process may install packages (root, with ``apt-get`` on the
PATH) it is installed once, under a file lock so that parallel test workers
do not run ``apt-get`` at the same time; only when that is impossible are the
walks skipped, with the reason.

Every page a walk visits goes through :meth:`Walk.check`: axe-core runs in
the page and any violation with impact ``serious`` or ``critical`` fails the
walk, and the page is saved as PNG at phone and desktop widths under
``tests/web/screenshots/`` (not committed). Waiting is always on a condition
with a deadline.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from axe_playwright_python.async_playwright import Axe  # type: ignore[import-untyped]
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.network.conftest import Json, Node, NodeFactory

#: Where Debian puts Chromium.
CHROMIUM = Path("/usr/bin/chromium")
#: Where the pages are saved as PNG (git-ignored).
SCREENSHOTS = Path(__file__).parent / "screenshots"
#: The widths every page is saved at: a phone first, then a desktop.
VIEWPORTS = {"phone": (390, 844), "desktop": (1280, 800)}
#: The impacts of an accessibility violation that fail a walk.
FAILING_IMPACTS = frozenset({"serious", "critical"})
#: How long any awaited condition in a walk may take (sync, projection).
WITHIN_SECONDS = 30.0
#: How long one browser action (a click, a navigation) may take, in ms.
ACTION_MS = 15_000
#: How long installing Chromium may take.
INSTALL_SECONDS = 900.0
#: Held while one test worker installs Chromium; the others wait on it.
INSTALL_LOCK = Path(tempfile.gettempdir()) / "tredegar-chromium-install.lock"


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker that turns the browser's CSP enforcement off."""
    config.addinivalue_line(
        "markers",
        "without_csp: the walk's browser ignores Content-Security-Policy, so "
        "only escaping keeps hostile text from running as script",
    )


# --- Chromium -------------------------------------------------------------------


def installed_chromium() -> Path | None:
    """Debian's Chromium, or another ``chromium`` on the PATH; None if neither."""
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    found = shutil.which("chromium")
    return Path(found) if found else None


def why_not_installable() -> str | None:
    """Why this process cannot ``apt-get install chromium``; None when it can."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "the tests do not run as root, so cannot apt-get install chromium"
    if shutil.which("apt-get") is None:
        return "there is no apt-get on the PATH to install chromium with"
    return None


def apt_get(*args: str) -> subprocess.CompletedProcess[str]:
    """One non-interactive ``apt-get`` command, run to completion."""
    return subprocess.run(
        ["apt-get", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        timeout=INSTALL_SECONDS,
        check=False,
    )


def install_chromium() -> str | None:
    """``apt-get install chromium`` (updating the lists only if needed).

    Returns:
        None once Chromium is installed, else what apt-get said.
    """
    install = ("install", "-y", "--no-install-recommends", "chromium")
    done = apt_get(*install)
    if done.returncode != 0:
        # The package lists may be empty or stale (a fresh container).
        apt_get("update")
        done = apt_get(*install)
    if done.returncode != 0 or installed_chromium() is None:
        return f"apt-get install chromium failed: {done.stderr.strip()[-500:]}"
    return None


@pytest.fixture(scope="session")
def chromium() -> Path:
    """The Chromium executable, installed first if this process may do so."""
    found = installed_chromium()
    if found is not None:
        return found
    reason = why_not_installable()
    if reason is not None:
        pytest.skip(f"no Chromium at {CHROMIUM} and {reason}")
    with INSTALL_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            found = installed_chromium()
            failure = None if found is not None else install_chromium()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    if failure is not None:
        pytest.skip(f"no Chromium at {CHROMIUM}: {failure}")
    found = installed_chromium()
    assert found is not None
    return found


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    """A headless Chromium for one test."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


# --- accessibility and screenshots ---------------------------------------------


def serious_violations(results: Mapping[str, Any]) -> list[Json]:
    """The axe violations whose impact is serious or critical."""
    return [
        violation
        for violation in results.get("violations", [])
        if violation.get("impact") in FAILING_IMPACTS
    ]


def describe(violations: list[Json]) -> str:
    """Axe violations as readable lines: rule, impact, help, and each element."""
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}"
            f"\n  {violation.get('helpUrl', '')}"
        )
        for element in violation.get("nodes", []):
            target = ", ".join(str(part) for part in element.get("target", []))
            lines.append(f"    at {target}: {element.get('html', '')[:200]}")
            summary = element.get("failureSummary") or ""
            lines.extend(f"      {line}" for line in summary.splitlines())
    return "\n".join(lines)


def safe_name(text: str) -> str:
    """A file-name fragment of ``text``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:80]


@dataclass
class Walk:
    """One test's browsing: a context, its page, and every page checked."""

    name: str
    context: BrowserContext
    page: Page
    checked: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    async def visit(self, url: str, label: str) -> Page:
        """Open ``url`` in the walk's page, then :meth:`check` it as ``label``."""
        response = await self.page.goto(url)
        assert response is not None, url
        assert response.status == 200, (url, response.status)
        await self.check(label)
        return self.page

    async def check(self, label: str) -> None:
        """Run axe-core in the page and save it at phone and desktop widths."""
        await self.page.wait_for_load_state("load")
        results = (await Axe().run(self.page)).response
        failing = serious_violations(results)
        if failing:
            raise AssertionError(
                f"accessibility violations on {label} ({self.page.url}):\n"
                + describe(failing)
            )
        await self.screenshot(label)
        self.checked.append(label)

    async def screenshot(self, label: str) -> None:
        """Save the page as PNG at each width, then go back to the phone's."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        number = len(self.checked) + 1
        stem = f"{self.name}-{number:02d}-{safe_name(label)}"
        for width_name, (width, height) in VIEWPORTS.items():
            await self.page.set_viewport_size({"width": width, "height": height})
            path = SCREENSHOTS / f"{stem}-{width_name}.png"
            await self.page.screenshot(path=str(path), full_page=True)
        width, height = VIEWPORTS["phone"]
        await self.page.set_viewport_size({"width": width, "height": height})

    async def until_shown(
        self,
        url: str,
        shown: Callable[[Page], Awaitable[bool]],
        *,
        what: str,
        within: float = WITHIN_SECONDS,
    ) -> None:
        """Load ``url`` again and again until ``shown(page)`` holds."""
        deadline = time.monotonic() + within
        while True:
            await self.page.goto(url)
            if await shown(self.page):
                return
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {within} s waiting for {what} at {url}")
            await asyncio.sleep(0.25)


@pytest.fixture
async def walk(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Walk]:
    """A fresh browser context at phone width; dialogs are recorded and dismissed.

    A test marked ``without_csp`` gets a browser that ignores the pages'
    Content-Security-Policy.
    """
    width, height = VIEWPORTS["phone"]
    context = await browser.new_context(
        viewport={"width": width, "height": height},
        accept_downloads=True,
        bypass_csp=request.node.get_closest_marker("without_csp") is not None,
    )
    context.set_default_timeout(ACTION_MS)
    page = await context.new_page()
    made = Walk(safe_name(request.node.name), context, page)
    for stale in SCREENSHOTS.glob(f"{made.name}-*.png"):
        stale.unlink()  # from an earlier run of this walk

    async def on_dialog(dialog: Any) -> None:
        made.dialogs.append(f"{dialog.type}: {dialog.message}")
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    try:
        yield made
    finally:
        await context.close()


# --- nodes ----------------------------------------------------------------------


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[NodeFactory]:
    """A factory of real nodes in ``tmp_path``; all are stopped at teardown."""
    factory = NodeFactory(tmp_path)
    yield factory
    factory.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client for the API calls a walk makes besides the browser."""
    async with aiohttp.ClientSession() as client:
        yield client


async def call(
    session: aiohttp.ClientSession,
    node: Node,
    method: str,
    path: str,
    body: object = None,
    *,
    expect: int,
) -> Json:
    """An API call with the organiser token; the JSON answer (status ``expect``)."""
    async with session.request(
        method, f"{node.url}{path}", json=body, headers=node.auth
    ) as response:
        answer = await response.json(content_type=None)
        assert response.status == expect, (method, path, response.status, answer)
    assert isinstance(answer, dict), answer
    return answer


async def publish(
    session: aiohttp.ClientSession, node: Node, event_type: str, body: Json
) -> str:
    """Publish an event from the node's own feed; its id."""
    answer = await call(
        session,
        node,
        "POST",
        "/api/v1/events",
        {"type": event_type, "body": body},
        expect=201,
    )
    event_id: str = answer["id"]
    return event_id


async def eventually(
    condition: Callable[[], Awaitable[bool]],
    *,
    what: str,
    within: float = WITHIN_SECONDS,
) -> None:
    """Await ``condition`` every 100 ms until it holds; fail after ``within`` s."""
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.1)


async def api_has(session: aiohttp.ClientSession, node: Node, path: str) -> bool:
    """Whether ``GET path`` answers 200 on ``node`` (a read model has caught up)."""
    async with session.get(f"{node.url}{path}") as response:
        await response.read()
        return response.status == 200
