"""The publishing forms' fields turned into event bodies (DESIGN §3).

Each builder reads a posted form and returns ``(type, body)``; the body's
schema is then the whole rule, checked by ``NodeServices.publish``. A builder
refuses only what it must read itself (a date and time, degrees, a number,
JSON), naming the form's field. :func:`form_field` names the form field a
schema refusal's path (``body.place.name``) is about.

Meetings are typed as local date and time in the group's zone and published
as UTC milliseconds (``zoneinfo``); a time that falls in a clock change's gap
is read as the clocks read after it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from node.web import forms
from protocol import JsonObject, JsonValue, MalformedError, canonical

__all__ = ["BUILDERS", "RECURRENCES", "form_field", "local_ms"]

Fields = Mapping[str, str]
Built = tuple[str, JsonObject]

_LOCAL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?")
_DEGREES = re.compile(r"-?[0-9]{1,3}(?:\.[0-9]{1,7})?")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
#: The recurrence choices of the meeting form.
RECURRENCES = {
    "weekly": "Every week, same day and time",
    "monthly": "Every month, same date",
    "monthly_weekday": "Every month, same weekday (e.g. the first Tuesday)",
}
#: Form fields named differently from the body's.
_ALIASES = {
    "starts_at": "starts",
    "ends_at": "ends",
    "target": "target_name",
    "target.name": "target_name",
    "target.kind": "target_kind",
    "place.lat_e6": "lat",
    "place.lon_e6": "lon",
    "recurrence": "recurrence",
}


def form_field(kind: str, path: str | None) -> str | None:
    """The form field a refusal's path is about (``body.place.name`` → place)."""
    if path is None or not path.startswith("body"):
        return path
    if kind == "any":
        return "body"
    inner = path.removeprefix("body").removeprefix(".")
    parts = [part for part in inner.split(".") if part and not part.isdigit()]
    if not parts:
        return None
    return _ALIASES.get(".".join(parts)) or _ALIASES.get(parts[0]) or parts[0]


def _zone(fields: Fields) -> tuple[str, ZoneInfo]:
    name = forms.text(fields, "tz", max_length=64) or ""
    try:
        return name, ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise MalformedError(
            "tz must be a time zone like Europe/London", field_path="tz"
        ) from None


def local_ms(fields: Fields, name: str, zone: ZoneInfo) -> int:
    """A ``YYYY-MM-DDTHH:MM`` local time in ``zone`` as UTC milliseconds.

    Raises:
        MalformedError: Missing, or not such a date and time.
    """
    text = forms.text(fields, name, max_length=19)
    try:
        if text is None or _LOCAL.fullmatch(text) is None:
            raise ValueError(text)
        moment = datetime.fromisoformat(text).replace(tzinfo=zone)
    except ValueError:
        raise MalformedError(
            f"{name} must be a date and time like 2026-03-31T19:00", field_path=name
        ) from None
    return int(moment.timestamp() * 1000)


def _micro(fields: Fields, name: str, limit: int) -> int | None:
    value = forms.text(fields, name, max_length=16)
    if value is None:
        return None
    if _DEGREES.fullmatch(value) is None or abs(float(value)) > limit:
        raise MalformedError(
            f"{name} must be decimal degrees between -{limit} and {limit}",
            field_path=name,
        )
    return round(float(value) * 1_000_000)


def _place(fields: Fields) -> JsonObject | None:
    name = forms.text(fields, "place", max_length=200)
    lat, lon = _micro(fields, "lat", 90), _micro(fields, "lon", 180)
    if (lat is None) != (lon is None):
        raise MalformedError("give both latitude and longitude", field_path="lat")
    if name is None:
        if lat is not None:
            raise MalformedError("name the place too", field_path="place")
        return None
    place: JsonObject = {"name": name}
    if lat is not None and lon is not None:
        place.update(lat_e6=lat, lon_e6=lon)
    return place


def _lines(fields: Fields, name: str) -> list[JsonValue]:
    text = forms.text(fields, name, max_length=20_000) or ""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _tags(fields: Fields) -> list[JsonValue]:
    text = forms.text(fields, "tags", max_length=1_000) or ""
    return [tag.strip().lower() for tag in text.split(",") if tag.strip()]


def _body(**values: JsonValue) -> JsonObject:
    """The values given (None, "" and [] left out)."""
    return {k: v for k, v in values.items() if v is not None and v not in ("", [])}


def _recurrence(fields: Fields, starts: datetime) -> JsonObject | None:
    chosen = forms.choice(fields, "recurrence", RECURRENCES)
    if chosen is None:
        return None
    if chosen == "weekly":
        return {"freq": "weekly"}
    if chosen == "monthly":
        return {"freq": "monthly"}
    week = (starts.day - 1) // 7 + 1
    return {
        "freq": "monthly",
        "by_day": [f"{'-1' if week == 5 else week}{WEEKDAYS[starts.weekday()]}"],
    }


def meeting(fields: Fields) -> Built:
    """``meeting.scheduled``: title, kind, local times, place, link and more."""
    tz, zone = _zone(fields)
    starts_at, ends_at = (
        local_ms(fields, "starts", zone),
        local_ms(fields, "ends", zone),
    )
    if ends_at <= starts_at:
        raise MalformedError("the end must be after the start", field_path="ends")
    first = datetime.fromtimestamp(starts_at / 1000, zone)
    body = _body(
        title=forms.text(fields, "title", max_length=200) or "",
        kind=forms.text(fields, "kind", max_length=64) or "",
        starts_at=starts_at,
        ends_at=ends_at,
        tz=tz,
        place=_place(fields),
        online_url=forms.text(fields, "online_url", max_length=2048),
        capacity=forms.integer(fields, "capacity", minimum=1, maximum=1_000_000),
        recurrence=_recurrence(fields, first),
        description=forms.text(fields, "description", max_length=10_000),
        accessibility=forms.text(fields, "accessibility", max_length=2_000),
    )
    body.setdefault("title", "")
    return "meeting.scheduled", body


def campaign(fields: Fields) -> Built:
    """``campaign.launched``: title, target and its kind, demands, area, story."""
    target = _body(
        name=forms.text(fields, "target_name", max_length=200),
        kind=forms.text(fields, "target_kind", max_length=64),
    )
    body = _body(
        title=forms.text(fields, "title", max_length=200),
        target=target,
        demands=_lines(fields, "demands"),
        area=forms.text(fields, "area", max_length=200),
        description=forms.text(fields, "description", max_length=10_000),
        tags=_tags(fields),
    )
    # Left empty, these are named by the schema's refusal, not just "missing".
    body.setdefault("target", {})
    body.setdefault("demands", [])
    return "campaign.launched", body


def update(fields: Fields) -> Built:
    """``campaign.updated``: which campaign, a headline, the text."""
    return "campaign.updated", _body(
        campaign=forms.text(fields, "campaign", max_length=60),
        title=forms.text(fields, "title", max_length=200),
        text=forms.text(fields, "text", max_length=10_000),
    )


def guide(fields: Fields) -> Built:
    """``guide.published``: title, summary, text, tags."""
    return "guide.published", _body(
        title=forms.text(fields, "title", max_length=200),
        summary=forms.text(fields, "summary", max_length=500),
        text=forms.text(fields, "text", max_length=60_000),
        tags=_tags(fields),
    )


def _aid(event_type: str) -> Callable[[Fields], Built]:
    def build(fields: Fields) -> Built:
        return event_type, _body(
            title=forms.text(fields, "title", max_length=200),
            category=forms.text(fields, "category", max_length=64),
            text=forms.text(fields, "text", max_length=2_000),
            place=_place(fields),
        )

    build.__doc__ = f"``{event_type}``: title, category, details, place."
    return build


def question(fields: Fields) -> Built:
    """``question.asked``: the question in a line, in full, tags."""
    return "question.asked", _body(
        title=forms.text(fields, "title", max_length=200),
        text=forms.text(fields, "text", max_length=10_000),
        tags=_tags(fields),
    )


def any_event(fields: Fields) -> Built:
    """Any type the node knows, with a JSON body typed by hand."""
    event_type = forms.text(fields, "type", max_length=64)
    if event_type is None:
        raise MalformedError("choose a type", field_path="type")
    text = fields.get("body", "").strip() or "{}"
    try:
        body = canonical.decode(text)
    except MalformedError:
        raise MalformedError(
            "the body is not JSON: check commas, quotes and braces", field_path="body"
        ) from None
    if not isinstance(body, dict):
        raise MalformedError("the body must be a JSON object {…}", field_path="body")
    return event_type, body


#: The builder of each publishing form.
BUILDERS: dict[str, Callable[[Fields], Built]] = {
    "meeting": meeting,
    "campaign": campaign,
    "update": update,
    "guide": guide,
    "need": _aid("need.posted"),
    "offer": _aid("offer.posted"),
    "question": question,
    "any": any_event,
}
