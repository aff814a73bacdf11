"""What the ideas and pledges pages share after a member changes something.

A form that changes something answers with a redirect to the page that
shows the change; the read models follow the log a moment behind the write,
so :func:`settled` waits (briefly) until they hold it. A refusal by an
event's schema names a path in the body (``body.tags.0``); :func:`on_field`
turns it into the form field it came from, so the page marks that field.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from node.services.runtime import NodeServices
from node.web import forms
from node.web.session import FLASHES

__all__ = ["SETTLE_SECONDS", "on_field", "settled"]

#: The most a redirect waits for the read models to hold a change.
SETTLE_SECONDS = 5.0

# The pages' flash messages (codes only ever ride the cookie; see session).
FLASHES.update(
    {
        "idea-proposed": "Your idea is published. Thank you!",
        "support-saved": "Your support is counted.",
        "support-withdrawn": "Your support is withdrawn.",
        "vote-saved": "Your vote is saved. You can change it until voting closes.",
        "vote-withdrawn": "Your vote is withdrawn.",
        "decided": "The proposal is decided and its decision published.",
        "pledge-saved": "Your pledge is saved. Thank you!",
        "pledge-withdrawn": "Your pledge is withdrawn.",
    }
)


async def settled(node: NodeServices) -> None:
    """Wait (a little at most) until the read models hold everything stored."""
    await node.settled(SETTLE_SECONDS)


def on_field(
    problem: forms.Problem, renames: Mapping[str, str] | None = None
) -> forms.Problem:
    """The problem, its field a form field (``body.tags.0`` → ``tags``).

    Args:
        problem: The refusal.
        renames: A body key → the form field that fills it, where they differ.
    """
    field = (problem.field or "").removeprefix("body.").split(".", 1)[0]
    field = (renames or {}).get(field, field)
    return dataclasses.replace(problem, field=field or None)
