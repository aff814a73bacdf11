"""Counting private votes into the published result of a proposal.

The rules (``docs/api.md#decisions``), one per kind of ``proposal.opened``:

- **consent** (options yes, no, abstain, block): any ``block`` blocks it
  (result ``block``); otherwise it is agreed (``yes``) when more members said
  yes than no, and not agreed (``no``) when no ≥ yes. Abstentions count as
  votes cast but neither way.
- **choose_one** and **pick_time**: each member chooses one option; the
  option with the most votes wins; a tie for the most leaves the result out.
- **rank**: each member ranks some or all options, best first; a Borda
  count gives an option ``n - 1 - i`` points for each ballot ranking it at
  place ``i`` (of ``n`` options; unranked options get nothing). The highest
  score wins; a tie for the highest leaves the result out. ``votes`` is how
  many ranked the option first.

No votes at all leave the result out. The counts name options only, never
who voted how.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from protocol import JsonObject, JsonValue, SchemaViolationError

__all__ = ["check_vote", "count_votes"]

CHOICE_KINDS = ("consent", "choose_one", "pick_time")
MAX_REASON = 2000


def check_vote(kind: str, options: Sequence[str], vote: Mapping[str, Any]) -> None:
    """Check a vote against the proposal's kind and options.

    Args:
        kind: The proposal's kind.
        options: Its option ids.
        vote: ``{choice?, ranking?, reason?}``, of the right JSON types.

    Raises:
        SchemaViolationError: A choice or ranking the proposal does not take.
    """
    reason = vote.get("reason")
    if reason is not None and not 1 <= len(reason) <= MAX_REASON:
        raise SchemaViolationError(
            f"reason is 1 to {MAX_REASON} characters", field_path="reason"
        )
    if kind in CHOICE_KINDS:
        if "ranking" in vote or vote.get("choice") not in options:
            raise SchemaViolationError(
                f"a {kind} vote is a choice of one of: {', '.join(options)}",
                field_path="choice",
            )
        return
    ranking = vote.get("ranking")
    if (
        "choice" in vote
        or not isinstance(ranking, list)
        or not ranking
        or len(set(ranking)) != len(ranking)
        or any(option not in options for option in ranking)
    ):
        raise SchemaViolationError(
            "a rank vote is a ranking: distinct options, best first",
            field_path="ranking",
        )


def count_votes(
    kind: str, options: Sequence[str], votes: Sequence[Mapping[str, Any]]
) -> JsonObject:
    """The result, counts and voters of a proposal, as ``proposal.decided`` has.

    Votes that no longer fit the options (none should) are not counted.

    Args:
        kind: The proposal's kind.
        options: Its option ids, in their order.
        votes: The current votes, anonymous.

    Returns:
        ``{counts, voters}`` and ``result`` when an option won.
    """
    valid = [vote for vote in votes if _fits(kind, options, vote)]
    if kind == "rank":
        firsts = Counter(vote["ranking"][0] for vote in valid)
        scores: Counter[str] = Counter()
        for vote in valid:
            for place, option in enumerate(vote["ranking"]):
                scores[option] += len(options) - 1 - place
        counts: list[JsonValue] = [
            {"option": o, "votes": firsts[o], "score": scores[o]} for o in options
        ]
        result = _single_best(scores, options) if valid else None
    else:
        chosen = Counter(vote["choice"] for vote in valid)
        counts = [{"option": o, "votes": chosen[o]} for o in options]
        if not valid:
            result = None
        elif kind == "consent":
            result = _consent(chosen)
        else:
            result = _single_best(chosen, options)
    body: JsonObject = {"counts": counts, "voters": len(valid)}
    if result is not None:
        body["result"] = result
    return body


def _consent(chosen: Counter[str]) -> str:
    if chosen["block"]:
        return "block"
    return "yes" if chosen["yes"] > chosen["no"] else "no"


def _single_best(tally: Counter[str], options: Sequence[str]) -> str | None:
    best = max(tally[o] for o in options)
    winners = [o for o in options if tally[o] == best]
    return winners[0] if len(winners) == 1 else None


def _fits(kind: str, options: Sequence[str], vote: Mapping[str, Any]) -> bool:
    try:
        check_vote(kind, options, {k: v for k, v in vote.items() if k != "reason"})
    except SchemaViolationError:
        return False
    return True
