"""The rig itself: axe-core finds what it must, screenshots land where they should.

A check that passes everything proves nothing, so the accessibility check is
shown failing a page with a serious violation (an image without a text
alternative, a field without a label) and naming the elements readably, and
a script that runs in a page is shown to be caught by the dialog listener the
hostile-text walk relies on.
"""

from __future__ import annotations

import struct

import pytest

from tests.web.conftest import SCREENSHOTS, VIEWPORTS, Walk

GOOD = """<!doctype html><html lang="en"><head><title>Fine</title></head>
<body><main><h1>Fine</h1><p>Nothing wrong here.</p></main></body></html>"""

BAD = """<!doctype html><html lang="en"><head><title>Broken</title></head>
<body><main><h1>Broken</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<form><input name="unlabelled"></form></main></body></html>"""


async def test_a_page_with_serious_violations_fails_the_check(walk: Walk) -> None:
    await walk.page.set_content(BAD)
    with pytest.raises(AssertionError) as failed:
        await walk.check("broken")
    report = str(failed.value)
    assert "image-alt (critical)" in report, report
    assert "label (critical)" in report, report
    assert 'name="unlabelled"' in report, report
    assert walk.checked == []


async def test_a_checked_page_is_saved_at_phone_and_desktop_widths(
    walk: Walk,
) -> None:
    await walk.page.set_content(GOOD)
    await walk.check("fine")
    for width_name, (width, _) in VIEWPORTS.items():
        path = SCREENSHOTS / f"{walk.name}-01-fine-{width_name}.png"
        head = path.read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n", path
        assert struct.unpack(">I", head[16:20])[0] == width, path
    assert walk.page.viewport_size == {
        "width": VIEWPORTS["phone"][0],
        "height": VIEWPORTS["phone"][1],
    }


@pytest.mark.without_csp
async def test_a_script_that_runs_is_caught_as_a_dialog(walk: Walk) -> None:
    await walk.page.set_content(
        '<!doctype html><html lang="en"><title>Script</title>'
        "<script>alert('ran')</script></html>"
    )
    await walk.page.wait_for_function("() => document.readyState === 'complete'")
    assert walk.dialogs == ["alert: ran"]
