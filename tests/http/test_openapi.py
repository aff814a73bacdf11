"""``schemas/openapi.yaml`` is valid OpenAPI 3.1 and matches the node, both ways.

Three checks: the document itself (valid, every reference resolves, every
refusal documented as problem+json with the codes the node really uses); the
routes registered by ``create_app`` against the paths of the document, in
both directions; and live answers of a served node validated against the
response schemas the document gives them, where an object may carry only
the keys the document names.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from aiohttp import web
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

import schemas
from node import __version__
from node.config import load_settings
from node.http.app import create_app
from node.http.problems import STATUS
from tests.http.conftest import Served
from tests.http.test_places_api import use_small_gazetteer

SCHEMAS_DIR = Path(schemas.__file__).parent
SPEC_PATH = SCHEMAS_DIR / "openapi.yaml"
SPEC_URI = SPEC_PATH.resolve().as_uri()
METHODS = ("get", "put", "post", "delete", "patch")
DAY = 86_400_000
JSON_TYPES = ("application/json", "application/problem+json")


@cache
def spec() -> dict[str, Any]:
    """The OpenAPI document, parsed once."""
    loaded: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text("utf-8"))
    return loaded


def spec_operations() -> set[tuple[str, str]]:
    """Every (METHOD, path) the document describes."""
    return {
        (method.upper(), path)
        for path, item in spec()["paths"].items()
        for method in METHODS
        if method in item
    }


def app_operations(app: web.Application) -> set[tuple[str, str]]:
    """Every (METHOD, canonical path) the application registers."""
    found = set()
    for route in app.router.routes():
        if route.method in ("HEAD", "OPTIONS"):
            continue
        resource = route.resource
        assert resource is not None
        # The web pages are HTML, not the API: tests/http/test_pages.py.
        page = getattr(route.handler, "__module__", "").startswith("node.web.")
        if page or isinstance(resource, web.StaticResource):
            continue
        found.add((route.method, resource.canonical))
    return found


def built_app(tmp_path: Path) -> web.Application:
    """An application whose routes can be listed (its services never open)."""
    return create_app(load_settings(tmp_path / "node", {}, {}))


def strict(node: Any, *, here: bool = True) -> Any:
    """A copy of a schema where an object may carry only the keys it documents.

    Each use of an object schema (a ``$ref``, ``properties`` or ``allOf``)
    gets ``unevaluatedProperties: false``, except where it is itself a part
    of an ``allOf``, a condition, or a component's definition: there the
    whole decides.
    """
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    copy: dict[str, Any] = {}
    for key, value in node.items():
        if key == "allOf":
            copy[key] = [strict(part, here=False) for part in value]
        elif key in ("if", "then", "else", "not"):
            copy[key] = strict(value, here=False)
        elif key in ("properties", "schemas", "$defs"):
            # A component is strict where it is used, not where it is defined.
            here_inside = key != "schemas"
            copy[key] = {
                name: strict(item, here=here_inside) for name, item in value.items()
            }
        else:
            copy[key] = strict(value)
    shaped = {"$ref", "properties", "allOf"} & set(node)
    bounded = {"additionalProperties", "unevaluatedProperties"} & set(node)
    if here and shaped and not bounded:
        copy["unevaluatedProperties"] = False
    return copy


@cache
def registry() -> Registry[Any]:
    """The document (strict: no undocumented keys) and every schema file."""
    resources: list[tuple[str, Resource[Any]]] = [
        (SPEC_URI, DRAFT202012.create_resource(strict(spec(), here=False)))
    ]
    for file in [SCHEMAS_DIR / "envelope.json", *SCHEMAS_DIR.glob("events/*.json")]:
        contents = orjson.loads(file.read_bytes())
        resources.append((file.resolve().as_uri(), Resource.from_contents(contents)))
    return Registry().with_resources(resources)


def component(name: str) -> Draft202012Validator:
    """A validator for one of ``components.schemas``."""
    return Draft202012Validator(
        strict({"$ref": f"{SPEC_URI}#/components/schemas/{name}"}),
        registry=registry(),
    )


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (a response or parameter component)."""
    while "$ref" in node:
        target: Any = spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def documented_answer(path: str, method: str, status: int) -> dict[str, Any]:
    """The response object the document gives for a status (or ``default``)."""
    responses = spec()["paths"][path][method.lower()]["responses"]
    found = responses.get(str(status)) or responses.get("default")
    assert found is not None, f"{method} {path} does not document {status}"
    return resolve(found)


async def check_answer(
    response: Any, path: str, method: str = "GET", *, status: int | None = None
) -> Any:
    """Assert a live answer is the one documented; return its decoded body."""
    if status is not None:
        assert response.status == status, await response.text()
    answer = documented_answer(path, method, response.status)
    content = answer.get("content")
    if content is None:
        assert await response.read() == b""
        return None
    assert response.content_type in content, (path, response.content_type)
    schema = content[response.content_type].get("schema", {})
    if response.content_type not in JSON_TYPES:
        return await response.text()
    body = orjson.loads(await response.read())
    errors = sorted(str(e.message) for e in _validator(schema).iter_errors(body))
    assert not errors, f"{method} {path} {response.status}: {errors}"
    return body


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    if set(schema) == {"$ref"} and schema["$ref"].startswith("#/"):
        schema = {"$ref": SPEC_URI + schema["$ref"]}
    return Draft202012Validator(strict(schema), registry=registry())


def refs(node: object) -> Iterator[str]:
    """Every ``$ref`` value in a document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


# --- the document itself ---------------------------------------------------


def test_the_spec_is_valid_openapi_3_1() -> None:
    assert spec()["openapi"] == "3.1.0"
    assert spec()["info"]["version"] == __version__
    validate_spec(spec(), base_uri=SPEC_URI)


def test_every_reference_resolves() -> None:
    missing = []
    for ref in set(refs(spec())):
        if ref.startswith("#/"):
            try:
                resolve({"$ref": ref})
            except KeyError:
                missing.append(ref)
        elif not (SCHEMAS_DIR / ref).is_file():
            missing.append(ref)
    assert not missing, f"references to nothing: {sorted(missing)}"


def test_the_problem_codes_are_those_the_node_maps() -> None:
    codes = spec()["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]
    assert sorted(codes) == sorted(STATUS)


def test_every_refusal_is_documented_as_a_problem() -> None:
    wrong = []
    for method, path in sorted(spec_operations()):
        responses = spec()["paths"][path][method.lower()]["responses"]
        if "default" not in responses:
            wrong.append(f"{method} {path}: no default (problem) answer")
        for status, answer in responses.items():
            if status != "default" and int(status) < 400:
                continue
            content = resolve(answer).get("content", {})
            schema = content.get("application/problem+json", {}).get("schema")
            if schema != {"$ref": "#/components/schemas/Problem"}:
                wrong.append(f"{method} {path} {status}: not a Problem")
    assert not wrong, "\n".join(wrong)


def test_every_operation_and_parameter_is_described() -> None:
    wrong = []
    ids = []
    for method, path in sorted(spec_operations()):
        item = spec()["paths"][path]
        operation = item[method.lower()]
        ids.append(operation.get("operationId"))
        if not operation.get("summary") or not operation.get("operationId"):
            wrong.append(f"{method} {path}: no summary or operationId")
        for parameter in item.get("parameters", []) + operation.get("parameters", []):
            parameter = resolve(parameter)
            if not parameter.get("description") or "schema" not in parameter:
                wrong.append(f"{method} {path} {parameter['name']}: undescribed")
    assert not wrong, "\n".join(wrong)
    assert len(ids) == len(set(ids)), "operationIds must be unique"


def test_the_publish_request_follows_the_event_schemas() -> None:
    publish = component("PublishRequest")
    good = {"type": "need.posted", "body": {"title": "Lifts", "category": "transport"}}
    assert publish.is_valid(good)
    bad_body = {"type": "need.posted", "body": {"title": "Lifts", "category": "boats"}}
    assert not publish.is_valid(bad_body)
    assert not publish.is_valid({"type": "need.invented", "body": {}})
    assert not publish.is_valid({**good, "feed": "x"})
    enum = spec()["components"]["schemas"]["PublishRequest"]["properties"]["type"]
    assert sorted(enum["enum"]) == sorted(schemas.load_event_schemas())


def test_the_spec_is_shipped_with_the_package() -> None:
    assert schemas.load_openapi() == SPEC_PATH.read_bytes()


# --- routes and document, both ways ----------------------------------------


def test_every_route_is_in_the_spec_and_every_spec_path_is_a_route(
    tmp_path: Path,
) -> None:
    routes = app_operations(built_app(tmp_path))
    described = spec_operations()
    undocumented = sorted(routes - described)
    unbuilt = sorted(described - routes)
    message = []
    if undocumented:
        message.append("routes missing from schemas/openapi.yaml:")
        message += [f"  {method} {path}" for method, path in undocumented]
    if unbuilt:
        message.append("paths of schemas/openapi.yaml that no route serves:")
        message += [f"  {method} {path}" for method, path in unbuilt]
    assert not message, "\n".join(message)


# --- live answers against their schemas ------------------------------------


def sample_bodies(now: int) -> dict[str, dict[str, Any]]:
    """One schema-valid body per kind of public thing, for a served node."""
    return {
        "need.posted": {"title": "Folding tables", "category": "goods"},
        "offer.posted": {
            "title": "Spare trestles",
            "category": "goods",
            "place": {"name": "Tredegar", "lat_e6": 51772000, "lon_e6": -3248000},
        },
        "pledge.target_set": {
            "title": "Coach to the conference",
            "kind": "money",
            "target_pence": 50_000,
        },
        "meeting.scheduled": {
            "title": "Advice surgery",
            "kind": "advice_surgery",
            "starts_at": now + 2 * DAY,
            "ends_at": now + 2 * DAY + 7_200_000,
            "tz": "Europe/London",
            "place": {"name": "Tredegar", "lat_e6": 51772000, "lon_e6": -3248000},
            "recurrence": {"freq": "weekly", "count": 4},
        },
        "campaign.launched": {
            "title": "Save the estate",
            "target": {"name": "Blaenau Gwent Council", "kind": "council"},
            "demands": ["No demolition"],
        },
        "network.formed": {"name": "Valleys network", "kind": "regional"},
        "guide.published": {"title": "Facing the council", "text": "Write it down."},
        "adviser.listed": {"display_name": "Cllr Morgan", "topics": ["council"]},
        "question.asked": {"title": "Who owns the old library?", "tags": ["council"]},
        "idea.proposed": {"title": "A street stall", "tags": ["outreach"]},
        "proposal.opened": {
            "title": "Pick a colour for the banner",
            "kind": "rank",
            "options": [
                {"id": "red", "label": "Red"},
                {"id": "green", "label": "Green"},
            ],
            "closes_at": now + 5 * DAY,
        },
        "tour.announced": {
            "title": "Valleys speaking tour",
            "starts_at": now + DAY,
            "ends_at": now + 20 * DAY,
            "tz": "Europe/London",
        },
    }


async def publish(served: Served, event_type: str, body: dict[str, Any]) -> Any:
    """Publish as the organiser; check the request and the answer."""
    request = {"type": event_type, "body": body}
    assert component("PublishRequest").is_valid(request)
    response = await served.client.post(
        "/api/v1/events", data=orjson.dumps(request), headers=served.organiser
    )
    return await check_answer(response, "/api/v1/events", "POST", status=201)


def follow_ups(ids: dict[str, str], now: int) -> list[tuple[str, dict[str, Any]]]:
    """Events referring to the samples, so every part of an answer is filled."""
    meeting, campaign = ids["meeting.scheduled"], ids["campaign.launched"]
    second = now + 9 * DAY
    return [
        ("campaign.updated", {"campaign": campaign, "text": "Petition handed in"}),
        (
            "campaign.action_called",
            {
                "campaign": campaign,
                "title": "Lobby the council",
                "text": "Meet at the civic centre",
                "starts_at": now + 3 * DAY,
                "tz": "Europe/London",
            },
        ),
        ("campaign.outcome_declared", {"campaign": campaign, "outcome": "won"}),
        (
            "meeting.occurrence_changed",
            {
                "meeting": meeting,
                "occurrence_starts_at": second,
                "change": "moved",
                "starts_at": second + 3_600_000,
                "ends_at": second + 10_800_000,
            },
        ),
        ("meeting.agenda_item_added", {"meeting": meeting, "title": "Repairs"}),
        (
            "meeting.attendance_counted",
            {"meeting": meeting, "yes": 3, "maybe": 1, "no": 0, "attended": 2},
        ),
        ("meeting.minutes_recorded", {"meeting": meeting, "text": "Notes"}),
        ("idea.support_counted", {"idea": ids["idea.proposed"], "supporters": 2}),
        (
            "proposal.decided",
            {
                "proposal": ids["proposal.opened"],
                "result": "red",
                "counts": [{"option": "red", "votes": 2, "score": 2}],
                "voters": 2,
                "eligible": 5,
            },
        ),
        ("task.created", {"title": "Paint the banner", "due_at": now + DAY}),
        (
            "network.decision_opened",
            {
                "network": ids["network.formed"],
                "title": "Where to meet",
                "kind": "choose_one",
                "options": [
                    {"id": "hall", "label": "Hall"},
                    {"id": "pub", "label": "Pub"},
                ],
                "closes_at": now + 5 * DAY,
            },
        ),
        ("answer.posted", {"question": ids["question.asked"], "text": "Ask them."}),
    ]


async def populate(served: Served) -> dict[str, str]:
    """Publish one of each sample, then events about them; ids by type."""
    now = int(time.time() * 1000)
    ids = {}
    for event_type, body in sample_bodies(now).items():
        ids[event_type] = (await publish(served, event_type, body))["id"]
    for event_type, body in follow_ups(ids, now):
        ids[event_type] = (await publish(served, event_type, body))["id"]
    await served.projected()
    return ids


def quick_places(served: Served) -> None:
    """A gazetteer of a few places, built at once (the full one takes seconds)."""
    use_small_gazetteer(served, served.settings.data_dir)


def is_served(served: Served, method: str, path: str) -> bool:
    return (method, path) in app_operations(served.client.app)


async def call(
    served: Served,
    method: str,
    path: str,
    status: int,
    url: str | None = None,
    body: object = None,
    **headers: str,
) -> Any:
    """Make a request and check its answer against the document's ``path``."""
    response = await served.client.request(
        method,
        url or path,
        data=None if body is None else orjson.dumps(body),
        headers=headers,
    )
    return await check_answer(response, path, method, status=status)


async def test_core_answers_match_their_schemas(node: Served) -> None:
    ids = await populate(node)
    await call(node, "GET", "/health", 200)
    page = await call(node, "GET", "/api/v1/events", 200)
    assert len(page["events"]) >= len(ids)
    event = f"/api/v1/events/{ids['need.posted']}"
    await call(node, "GET", "/api/v1/events/{id}", 200, event)
    hits = await call(node, "GET", "/api/v1/search", 200, "/api/v1/search?q=tables")
    assert [hit["id"] for hit in hits["results"]] == [ids["need.posted"]]
    assert (await call(node, "GET", "/api/v1/groups", 200))["groups"]
    assert "tredegar_" in await call(node, "GET", "/metrics", 200)
    await call(node, "GET", "/api/v1/openapi.yaml", 200)


UNHELD = "sha256:" + "A" * 43


async def test_problem_answers_match_their_schemas(node: Served) -> None:
    need = {"type": "need.posted", "body": {"title": "x"}}
    refusals = [
        ("GET", "/api/v1/events", 400, "/api/v1/events?limit=x", None, {}),
        ("POST", "/api/v1/events", 401, None, {}, {}),
        ("POST", "/api/v1/events", 422, None, need, node.organiser),
        ("GET", "/api/v1/events/{id}", 400, "/api/v1/events/nope", None, {}),
        ("GET", "/api/v1/events/{id}", 404, "/api/v1/events/" + UNHELD, None, {}),
        ("GET", "/fed/v1/info", 400, None, None, {}),
    ]
    for method, path, status, url, body, headers in refusals:
        problem = await call(node, method, path, status, url, body, **headers)
        assert problem["status"] == status
        assert problem["type"] == f"urn:tredegar:problem:{problem['code']}"
    not_allowed = await node.client.delete("/health")
    await check_answer(not_allowed, "/health", "GET", status=405)


async def test_account_answers_match_their_schemas(node: Served) -> None:
    org = node.organiser
    invite = await call(node, "POST", "/api/v1/invites", 201, body={}, **org)
    joiner = {"display_name": "Someone", "login": "someone", "password": "x" * 12}
    accept = f"/api/v1/invites/{invite['code']}/accept"
    path = "/api/v1/invites/{code}/accept"
    member = await call(node, "POST", path, 201, accept, joiner)
    session = {"login": "someone", "password": "x" * 12}
    await call(node, "POST", "/api/v1/session", 200, body=session)
    for path in ("/api/v1/invites", "/api/v1/members", "/api/v1/me"):
        await call(node, "GET", path, 200, **org)
    await call(node, "GET", "/api/v1/me/export", 200, **org)
    reset = f"/api/v1/members/{member['id']}/reset"
    await call(node, "POST", "/api/v1/members/{id}/reset", 201, reset, **org)


async def test_federation_answers_match_their_schemas(node: Served) -> None:
    info = "/fed/v1/info?challenge=" + "A" * 22
    await call(node, "GET", "/fed/v1/info", 200, info)
    for path in ("/fed/v1/heads", "/fed/v1/peers", "/fed/v1/forks"):
        await call(node, "GET", path, 200)
    feed = f"/fed/v1/feeds/{node.services.key.feed}"
    lines = await call(node, "GET", "/fed/v1/feeds/{feed}", 200, feed)
    envelope = Draft202012Validator(
        {"$ref": (SCHEMAS_DIR / "envelope.json").resolve().as_uri()},
        registry=registry(),
    )
    for line in lines.splitlines():
        envelope.validate(orjson.loads(line))


#: Domain routes checked live once they are served: (path, query, id kind).
DOMAIN_ANSWERS = [
    ("/api/v1/meetings", {}, None),
    ("/api/v1/meetings/{id}", {}, "meeting.scheduled"),
    ("/api/v1/tours", {}, None),
    ("/api/v1/tours/{id}", {}, "tour.announced"),
    ("/api/v1/campaigns", {}, None),
    ("/api/v1/campaigns/{id}", {}, "campaign.launched"),
    ("/api/v1/networks", {}, None),
    ("/api/v1/networks/{id}", {}, "network.formed"),
    ("/api/v1/places", {"q": "Tredegar"}, None),
    ("/api/v1/ideas", {}, None),
    ("/api/v1/ideas/{id}", {}, "idea.proposed"),
    ("/api/v1/proposals", {}, None),
    ("/api/v1/proposals/{id}", {}, "proposal.opened"),
    ("/api/v1/decisions/{id}", {}, "proposal.decided"),
    ("/api/v1/tasks", {}, None),
    ("/api/v1/networks/{id}/decisions", {}, "network.formed"),
    ("/api/v1/network-decisions/{id}", {}, "network.decision_opened"),
    ("/api/v1/guides", {"tag": "council"}, None),
    ("/api/v1/guides/{id}", {}, "guide.published"),
    ("/api/v1/advisers", {"topic": "council"}, None),
    ("/api/v1/questions", {"answered": "true"}, None),
    ("/api/v1/questions/{id}", {}, "question.asked"),
    ("/api/v1/groups", {"lat": "51.77", "lon": "-3.25", "within_km": "50"}, None),
    ("/api/v1/groups/{feed}", {}, None),
    ("/api/v1/search", {"q": "surgery", "type": "meeting"}, None),
    ("/calendar.ics", {}, None),
    ("/groups/{feed}/calendar.ics", {}, None),
]


@pytest.mark.parametrize(("path", "query", "kind"), DOMAIN_ANSWERS)
async def test_domain_answers_match_their_schemas(
    node: Served, path: str, query: dict[str, str], kind: str | None
) -> None:
    if not is_served(node, "GET", path):
        pytest.skip(f"GET {path} is not served yet")
    quick_places(node)
    ids = await populate(node)
    url = path.replace("{feed}", node.services.key.feed)
    if kind is not None:
        url = url.replace("{id}", ids[kind])
    answer = await check_answer(
        await node.client.get(url, params=query), path, status=200
    )
    assert answer


async def test_rsvp_answers_match_their_schemas(node: Served) -> None:
    if not is_served(node, "PUT", "/api/v1/meetings/{id}/rsvp"):
        pytest.skip("PUT /api/v1/meetings/{id}/rsvp is not served yet")
    meeting = (await populate(node))["meeting.scheduled"]
    calls = [
        ("PUT", "/rsvp", {"answer": "maybe"}, 200),
        ("GET", "/rsvp", None, 200),
        ("GET", "/rsvps", None, 200),
        ("POST", "/attendance", {"attended": 4}, 201),
        ("POST", "/agenda", {"title": "Rent strike", "duration_minutes": 20}, 201),
        ("DELETE", "/rsvp", None, 204),
    ]
    for method, tail, body, status in calls:
        path, url = "/api/v1/meetings/{id}" + tail, f"/api/v1/meetings/{meeting}{tail}"
        await call(node, method, path, status, url, body, **node.organiser)


async def test_idea_answers_match_their_schemas(node: Served) -> None:
    if not is_served(node, "PUT", "/api/v1/proposals/{id}/vote"):
        pytest.skip("PUT /api/v1/proposals/{id}/vote is not served yet")
    now = int(time.time() * 1000)
    idea = await call(
        node, "POST", "/api/v1/ideas", 201, body={"title": "Tea"}, **node.organiser
    )
    body = {
        "title": "Which day?",
        "kind": "choose_one",
        "options": [{"id": "mon", "label": "Monday"}, {"id": "tue", "label": "Tue"}],
        "closes_at": now + DAY,
        "idea": idea["id"],
    }
    proposal = (await publish(node, "proposal.opened", body))["id"]
    org = node.organiser
    calls = [
        ("PUT", "/api/v1/ideas/{id}/support", idea["id"], None, 200),
        ("DELETE", "/api/v1/ideas/{id}/support", idea["id"], None, 204),
        ("PUT", "/api/v1/proposals/{id}/vote", proposal, {"choice": "mon"}, 200),
        ("GET", "/api/v1/proposals/{id}/vote", proposal, None, 200),
        ("GET", "/api/v1/proposals/{id}/votes", proposal, None, 200),
        ("DELETE", "/api/v1/proposals/{id}/vote", proposal, None, 204),
        ("POST", "/api/v1/proposals/{id}/decide", proposal, {"text": "Done"}, 201),
    ]
    for method, path, thing, request, status in calls:
        url = path.replace("{id}", thing)
        await call(node, method, path, status, url, request, **org)
    decided = await call(
        node, "POST", "/api/v1/tasks", 201, body={"title": "Go"}, **org
    )
    assert decided["type"] == "task.created"
