"""The search read model on PostgreSQL (:mod:`node.projections.search_pg`),
held to the same answers as the FTS5 model (:mod:`node.projections.search`).

Every test that can runs on both models (``model`` is parametrised): signed
events are projected into a fresh in-memory SQLite database, or into a fresh
PostgreSQL schema (its ``events`` table made from ``sql.CREATE_EVENTS``
through the translating cursor), and the same assertions hold. PostgreSQL
cases skip, saying why, when no server answers (``tests/pg.py``).
"""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, cast

import psycopg
import pytest
from eventsourcing.sqlite import SQLiteCursor
from psycopg import sql as pgsql

import schemas
from node.projections import InvalidCursorError, Projected, search, search_pg, sql
from node.projections.geo import Near
from node.projections.search import SearchHit, SearchPage, TypeFilter
from node.storage.pgcursor import PgCursor
from protocol import (
    BodyValidator,
    Event,
    JsonObject,
    ProtocolError,
    SigningKey,
    sign,
)
from tests.pg import require_postgres, server_url
from tests.protocol.helpers import KEY_A, KEY_B, T0

TREDEGAR_AT = (51_772_200, -3_246_600)
CARDIFF_AT = (51_478_000, -3_176_000)
TREDEGAR: JsonObject = {"name": "Tredegar Workmen's Institute",
                        "lat_e6": TREDEGAR_AT[0], "lon_e6": TREDEGAR_AT[1]}  # fmt: skip
ASHVALE: JsonObject = {"name": "Ashvale, Tredegar", "lat_e6": 51_775_000,
                       "lon_e6": -3_240_000}  # fmt: skip
CARDIFF: JsonObject = {"name": "Cardiff Central Library", "lat_e6": CARDIFF_AT[0],
                       "lon_e6": CARDIFF_AT[1]}  # fmt: skip
NEAR_TREDEGAR = Near(*TREDEGAR_AT, 5)
LONG_TEXT = (
    "One two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen twenty quorum "
    "twentyone twentytwo twentythree twentyfour twentyfive twentysix "
    "twentyseven twentyeight twentynine thirty thirtyone thirtytwo."
)
VALIDATOR = BodyValidator(schemas.load_event_schemas())


class Model(Protocol):
    """One backend's search model, fed and asked as the node would."""

    def project(self, items: Sequence[Projected]) -> None: ...
    def search(self, q: str, limit: int = 20) -> list[SearchHit]: ...
    def page(self, q: str, **filters: Any) -> SearchPage: ...
    def rows(self, table: str, position: int) -> int: ...
    def reset(self) -> None: ...


def _event_row(item: Projected) -> tuple[object, ...]:
    event = item.event
    return (item.position, event.feed, event.seq, event.id, event.type, event.ts,
            event.wire_bytes().decode(), 0, 1)  # fmt: skip


class SqliteModel:
    """The FTS5 model in an in-memory database."""

    def __init__(self) -> None:
        self.connection = sqlite3.connect(":memory:")
        self.connection.row_factory = sqlite3.Row
        self.cursor = cast(SQLiteCursor, self.connection.cursor())
        for statement in sql.CREATE_EVENTS:
            self.cursor.execute(statement)
        search.create(self.cursor)

    def project(self, items: Sequence[Projected]) -> None:
        for item in items:
            self.cursor.execute(sql.INSERT_EVENT, _event_row(item))
            search.apply(self.cursor, item)
        search.finish(self.cursor, items)
        self.connection.commit()

    def search(self, q: str, limit: int = 20) -> list[SearchHit]:
        return search.search(self.cursor, q, limit)

    def page(self, q: str, **filters: Any) -> SearchPage:
        return search.search_page(self.cursor, q, **filters)

    def rows(self, table: str, position: int) -> int:
        column = "rowid" if table == "search" else "position"
        query = f"SELECT count(*) FROM {table} WHERE {column} = ?"  # noqa: S608
        return int(self.connection.execute(query, (position,)).fetchone()[0])

    def reset(self) -> None:
        search.reset(self.cursor)

    def close(self) -> None:
        self.connection.close()


class PostgresModel:
    """The PostgreSQL model in a schema of its own, dropped by :meth:`close`."""

    def __init__(self) -> None:
        self.schema = f"search_pg_{uuid.uuid4().hex[:16]}"
        self.connection = psycopg.connect(server_url())
        self.connection.execute(
            pgsql.SQL("CREATE SCHEMA {0}; SET search_path TO {0}").format(
                pgsql.Identifier(self.schema)
            )
        )
        self.cursor = PgCursor(self.connection)
        for statement in sql.CREATE_EVENTS:
            self.cursor.execute(statement)
        search_pg.create(self.cursor)
        self.connection.commit()

    def project(self, items: Sequence[Projected]) -> None:
        with self.connection.transaction():
            for item in items:
                self.cursor.execute(sql.INSERT_EVENT, _event_row(item))
                search_pg.apply(self.cursor, item)
            search_pg.finish(self.cursor, items)

    def search(self, q: str, limit: int = 20) -> list[SearchHit]:
        with self.connection.transaction():
            return search_pg.search(self.cursor, q, limit)

    def page(self, q: str, **filters: Any) -> SearchPage:
        with self.connection.transaction():
            return search_pg.search_page(self.cursor, q, **filters)

    def rows(self, table: str, position: int) -> int:
        query = pgsql.SQL("SELECT count(*) FROM {} WHERE position = %s").format(
            pgsql.Identifier(table)
        )
        found = self.connection.execute(query, (position,)).fetchone()
        return int(found[0]) if found else -1

    def reset(self) -> None:
        with self.connection.transaction():
            search_pg.reset(self.cursor)

    def close(self) -> None:
        self.connection.rollback()
        self.connection.execute(
            pgsql.SQL("DROP SCHEMA {} CASCADE").format(pgsql.Identifier(self.schema))
        )
        self.connection.commit()
        self.connection.close()


@pytest.fixture(scope="session")
def with_unaccent() -> None:
    """Install ``unaccent`` once, outside every test's schema.

    A test's schema is dropped with everything in it; the extension (one per
    database) must not be, while other tests' configurations map to it.
    """
    require_postgres()
    # Another run may create it at the same moment.
    with (
        psycopg.connect(server_url(), autocommit=True) as connection,
        contextlib.suppress(psycopg.errors.UniqueViolation),
    ):
        connection.execute("CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public")


@pytest.fixture
def postgres_model(with_unaccent: None) -> Iterator[PostgresModel]:
    model = PostgresModel()
    yield model
    model.close()


@pytest.fixture
def sqlite_model() -> Iterator[SqliteModel]:
    model = SqliteModel()
    yield model
    model.close()


@pytest.fixture(params=["sqlite", "postgres"])
def model(request: pytest.FixtureRequest) -> Model:
    return cast(Model, request.getfixturevalue(f"{request.param}_model"))


class Log:
    """Signs events of several feeds and hands them out as the projector does."""

    def __init__(self) -> None:
        self.heads: dict[str, Event] = {}
        self.position = 0

    def publish(self, key: SigningKey, event_type: str, body: JsonObject) -> Projected:
        head = self.heads.get(key.feed)
        seq = 1 if head is None else head.seq + 1
        event = sign(key, head, T0 + seq * 1000, event_type, body)
        self.heads[key.feed] = event
        self.position += 1
        try:
            VALIDATOR.validate(event_type, body)
        except ProtocolError:
            return Projected(self.position, event, is_valid=False)
        return Projected(self.position, event, is_valid=True)

    def redact(self, key: SigningKey, target: Projected) -> Projected:
        body: JsonObject = {"id": target.event.id, "reason": "Asked to."}
        return self.publish(key, "event.redacted", body)


def meeting(title: str, place: JsonObject, **more: str) -> JsonObject:
    return {"title": title, "kind": "advice_surgery", "starts_at": 1_796_119_200_000,
            "ends_at": 1_796_126_400_000, "tz": "Europe/London", "place": place,
            **more}  # fmt: skip


class Story:
    """Two groups' events: housing in Tredegar and Cardiff, rent, Welsh."""

    def __init__(self, model: Model) -> None:
        log = self.log = Log()
        a, b = KEY_A, KEY_B
        surgery_text = (
            "Bring any letters from the council or the housing association, "
            "and we will help you answer them. Tea and biscuits."
        )
        welsh_text = (
            "Croeso! Questions to cymorth@example.org or tenants.example.org, "
            "3.5 hours of snake_case talk."
        )
        self.sirhowy = log.publish(
            a, "group.profile_set", {"name": "Sirhowy Housing Group", "place": TREDEGAR}
        )
        self.surgery = log.publish(
            a,
            "meeting.scheduled",
            meeting("Housing advice surgery", TREDEGAR, description=surgery_text),
        )
        self.campaign = log.publish(
            a,
            "campaign.launched",
            {
                "title": "Save the housing estate",
                "demands": ["No demolition."],
                "target": {"name": "The council", "kind": "council"},
                "place": ASHVALE,
            },
        )
        self.cardiff = log.publish(
            b,
            "group.profile_set",
            {"name": "Cardiff Housing Network", "place": CARDIFF},
        )
        self.library = log.publish(
            b, "meeting.scheduled", meeting("Housing meeting in the library", CARDIFF)
        )
        self.guide = log.publish(
            b, "guide.published", {"title": "A housing guide", "text": "Start small."}
        )
        self.mention = log.publish(
            a,
            "idea.proposed",
            {
                "title": "Street stall",
                "text": "Talk about the rent strike on Saturday.",
            },
        )
        self.rent = log.publish(
            a, "idea.proposed", {"title": "Rent strike", "text": "Ashvale."}
        )
        self.welsh = log.publish(
            b,
            "meeting.scheduled",
            meeting("Tŷ Cymunedol open evening", CARDIFF, description=welsh_text),
        )
        self.long = log.publish(
            b, "guide.published", {"title": "Counting", "text": LONG_TEXT}
        )
        self.broken = log.publish(a, "meeting.scheduled", {"title": "Housing broken"})
        self.items = [
            self.sirhowy, self.surgery, self.campaign, self.cardiff, self.library,
            self.guide, self.mention, self.rent, self.welsh, self.long, self.broken,
        ]  # fmt: skip
        model.project(self.items)


@pytest.fixture
def story(model: Model) -> Story:
    return Story(model)


def ids(hits: Sequence[SearchHit]) -> list[str]:
    return [hit.id for hit in hits]


def id_set(*items: Projected) -> set[str]:
    return {item.event.id for item in items}


def page_ids(model: Model, q: str = "housing", **filters: Any) -> set[str]:
    return set(ids(model.page(q, **filters).results))


HOUSING = ("sirhowy", "surgery", "campaign", "cardiff", "library", "guide")
#: The story's events in the index (all but the one failing its schema).
INDEXED = 10


def test_hits_have_the_exact_shape(model: Model, story: Story) -> None:
    [hit] = model.search("advice surgery")
    event = story.surgery.event
    assert hit == SearchHit(
        type="meeting.scheduled", feed=KEY_A.feed, seq=event.seq, id=event.id,
        title="Housing advice surgery", snippet="Housing [advice] [surgery]",
    )  # fmt: skip


def test_every_word_must_match_and_the_last_is_a_prefix(
    model: Model, story: Story
) -> None:
    housing = id_set(*(getattr(story, name) for name in HOUSING))
    assert set(ids(model.search("housing"))) == housing
    assert set(ids(model.search("HOUS"))) == housing  # a prefix, any case
    assert ids(model.search("ho")) == []  # too short to be a prefix
    assert set(ids(model.search("housing council"))) == id_set(
        story.surgery, story.campaign
    )
    assert ids(model.search("housing zebra")) == []
    assert ids(model.search("broken")) == []  # fails its schema: not indexed


def test_titles_rank_above_text_ties_by_position(model: Model, story: Story) -> None:
    assert ids(model.search("rent")) == ids(model.search("rent strike")) == [
        story.rent.event.id, story.mention.event.id,
    ]  # fmt: skip
    assert ids(model.search("rent", limit=1)) == [story.rent.event.id]
    assert len(model.search("housing", limit=0)) == 1
    # A title word outweighs a text word even in a longer event.
    short: JsonObject = {"title": "Stall", "text": "Tithe talk."}
    long: JsonObject = {"title": "Tithe barn", "text": "Save the old barn on the hill."}
    in_text, in_title = (story.log.publish(KEY_B, "idea.proposed", b)
                         for b in (short, long))  # fmt: skip
    model.project([in_text, in_title])
    assert ids(model.search("tithe")) == [in_title.event.id, in_text.event.id]
    same: JsonObject = {"title": "Tie break", "text": "Same words."}
    twins = [story.log.publish(KEY_B, "guide.published", same) for _ in range(3)]
    model.project(twins)
    assert ids(model.search("tie break")) == [twin.event.id for twin in twins]


def test_snippets_mark_words_and_cut_long_texts(model: Model, story: Story) -> None:
    [hit] = model.search("letters from the council")
    assert "\nBring any [letters] [from] [the] [council] or [the]" in hit.snippet
    assert hit.snippet.endswith("…")
    [hit] = model.search("quorum")
    assert hit.snippet.startswith("…")
    assert hit.snippet.endswith("…")
    assert "twenty [quorum] twentyone" in hit.snippet
    assert 14 <= len(hit.snippet.split()) <= 16
    [hit] = model.search("biscuits")
    assert hit.snippet.startswith("…")
    assert hit.snippet.endswith("[biscuits].")
    [hit] = model.search("talk saturday")  # the text column, whole
    assert hit.snippet == "[Talk] about the rent strike on [Saturday]."


def test_accents_and_punctuation_split_words_as_on_sqlite(
    model: Model, story: Story
) -> None:
    welsh = [story.welsh.event.id]
    for q in ("ty cymunedol", "TŶ CYMUNEDOL", "tŷ", "cymorth", "example", "snake",
              "case", "tenants org", "3 5"):  # fmt: skip
        assert ids(model.search(q)) == welsh, q
    [hit] = model.search("ty")
    assert hit.snippet == "[Tŷ] Cymunedol open evening"


def test_type_filters(model: Model, story: Story) -> None:
    def found(*names: str) -> set[str]:
        return page_ids(model, types=TypeFilter.parse(names))

    meetings = id_set(story.surgery, story.library)
    assert found("meeting.scheduled") == found("meeting") == meetings
    assert found("meeting.scheduled", "campaign.launched") == meetings | id_set(
        story.campaign
    )
    assert found("guide", "group") == id_set(story.guide, story.sirhowy, story.cardiff)
    for unknown in ("widget.invented", "meet", "meeting.scheduled.later"):
        assert found(unknown) == set()


def test_blocked_feeds_are_left_out(model: Model, story: Story) -> None:
    assert page_ids(model, blocked={KEY_B.feed}) == id_set(
        story.sirhowy, story.surgery, story.campaign
    )
    assert page_ids(model, blocked={KEY_A.feed, KEY_B.feed}) == set()
    near_cardiff = Near(*CARDIFF_AT, 5)
    assert page_ids(model, near=near_cardiff, blocked=[KEY_B.feed]) == set()


def test_near_keeps_places_within_the_radius(model: Model, story: Story) -> None:
    tredegar = id_set(story.sirhowy, story.surgery, story.campaign)
    assert page_ids(model, near=NEAR_TREDEGAR) == tredegar
    wide = Near(NEAR_TREDEGAR.lat_e6, NEAR_TREDEGAR.lon_e6, 50)
    assert page_ids(model, near=wide) == tredegar | id_set(story.cardiff, story.library)
    meetings = TypeFilter(("meeting",))
    assert page_ids(model, near=NEAR_TREDEGAR, types=meetings) == id_set(story.surgery)
    # Tredegar lies in the box around this point but not within 1 km of it.
    corner = Near(51_765_200, -3_258_600, 1)
    box = corner.box()
    assert box.min_lat_e6 < TREDEGAR_AT[0] < box.max_lat_e6
    assert box.min_lon_e6 < TREDEGAR_AT[1] < box.max_lon_e6
    assert not corner.holds(*TREDEGAR_AT)
    assert page_ids(model, near=corner) == set()


def walk(model: Model, **filters: Any) -> list[str]:
    seen: list[str] = []
    after: str | None = None
    for _ in range(20):
        page = model.page("housing", limit=2, after=after, **filters)
        assert len(page.results) <= 2
        seen += ids(page.results)
        if page.next is None:
            return seen
        after = page.next
    raise AssertionError("the pages never end")


def test_paging_walks_the_ranked_order_once(model: Model, story: Story) -> None:
    whole = model.page("housing", limit=100)
    assert whole.next is None
    assert len(whole.results) == len(HOUSING)
    assert walk(model) == ids(whole.results) == ids(model.search("housing"))
    wide = Near(NEAR_TREDEGAR.lat_e6, NEAR_TREDEGAR.lon_e6, 50)
    near_whole = ids(model.page("housing", near=wide).results)
    assert len(near_whole) == 5
    assert walk(model, near=wide) == near_whole
    for bad in ("!!", "WyJ4Il0", "WzEsMl0", "bm90IGpzb24", "Wy0xXQ"):
        with pytest.raises(InvalidCursorError):
            model.page("housing", after=bad)
    assert model.page("", after="WzEwXQ") == SearchPage([], None)
    assert model.page("housing", after="WzEwXQ") == SearchPage([], None)  # [10]


def test_redaction_removes_the_hit_and_its_place(model: Model, story: Story) -> None:
    position = story.surgery.position
    assert (model.rows("search", position), model.rows("search_places", position)) == (
        1, 1,
    )  # fmt: skip
    model.project([story.log.redact(KEY_A, story.surgery)])
    assert model.search("surgery") == []
    assert model.search("biscuits") == []
    assert page_ids(model, near=NEAR_TREDEGAR) == id_set(story.sirhowy, story.campaign)
    assert (model.rows("search", position), model.rows("search_places", position)) == (
        0, 0,
    )  # fmt: skip
    # Another feed cannot redact it (the target is looked up in its own feed).
    model.project([story.log.redact(KEY_A, story.library)])
    assert ids(model.search("meeting library")) == [story.library.event.id]


def test_reset_empties_the_model(model: Model, story: Story) -> None:
    model.reset()
    assert model.search("housing") == []
    again: JsonObject = {"title": "Housing again", "text": "Yes."}
    model.project([story.log.publish(KEY_A, "guide.published", again)])
    assert [hit.title for hit in model.search("housing")] == ["Housing again"]


PUNCTUATION = ['"', "*", ")(", "", "   ", "_ __ _*", "—…", "&|!:*()", "\\", "'",
               "\x00\x01\u2028", "--", "%s %(x)s %%"]  # fmt: skip
HOSTILE = ['AND OR NOT', "NEAR(housing", "housing*", "title:housing", "-housing",
           "^housing", "housing:*", "'housing' | 'rent'", "housing & !rent",
           "housing | rent", "!housing", "housing <-> rent", "housing:A",
           "\\'housing\\'", "'; DROP TABLE search; --",
           "housing\"; DROP TABLE events; --",
           "' OR 1=1 --", "{title}: housing", "a" * 10_240, "housing " * 1_280,
           "ŵ" * 400, "Tŷ 日本語 🙂 ÆØÅ", "\x00housing", "\ud7ff", "%(every)s",
           "\ue000housing\ue001"]  # fmt: skip


@pytest.mark.parametrize("query", PUNCTUATION)
def test_a_query_without_words_finds_nothing(
    model: Model, story: Story, query: str
) -> None:
    assert model.search(query) == []
    assert model.page(query) == SearchPage([], None)


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_neither_fail_nor_match_everything(
    model: Model, story: Story, query: str
) -> None:
    hits = ids(model.search(query, limit=100))
    assert len(hits) <= len(HOUSING) < INDEXED
    filtered = model.page(query, types=TypeFilter(("meeting",)), near=NEAR_TREDEGAR)
    assert set(ids(filtered.results)) <= set(hits)
    assert len(ids(model.search("housing"))) == len(HOUSING)  # nothing dropped


@pytest.mark.parametrize("query", [*HOSTILE, "housing", "rent", "ty", "hous advi"])
def test_both_models_find_the_same_events(
    sqlite_model: SqliteModel, postgres_model: PostgresModel, query: str
) -> None:
    Story(sqlite_model)
    Story(postgres_model)
    found = set(ids(postgres_model.search(query)))
    assert found == set(ids(sqlite_model.search(query)))


@pytest.mark.parametrize(
    "query",
    ["advice", "quorum", "letters council", "housing surgery", "ty", "open evening",
     "talk saturday", "rent", "strike", "tredegar", "A housing"],
)  # fmt: skip
def test_both_models_rank_and_cut_snippets_alike(
    sqlite_model: SqliteModel, postgres_model: PostgresModel, query: str
) -> None:
    Story(sqlite_model)
    Story(postgres_model)
    assert postgres_model.search(query) == sqlite_model.search(query)


def test_words_are_folded_and_queries_quoted() -> None:
    words = search_pg.document_words("Tŷ Cymunedol, tenants.example.org 3.5 snake_case")
    assert words == "ty cymunedol tenants example org 3 5 snake case"
    assert search_pg.tsqueries('AND "rent" NEAR(hous') == (
        "'and' & 'rent' & 'near' & 'hous':*",
        "'and' | 'rent' | 'near' | 'hous':*",
    )
    assert search_pg.tsqueries("to be") == ("'to' & 'be'", "'to' | 'be'")
    assert search_pg.tsqueries("&|!:*()'\\") is None
    queries = search_pg.tsqueries("word " * 100)
    assert queries is not None
    assert queries[0].count("'word'") == 16


def test_nul_characters_are_replaced_not_refused(
    postgres_model: PostgresModel,
) -> None:
    body: JsonObject = {"title": "Nul\x00 guide", "text": "Before\x00after."}
    item = Log().publish(KEY_A, "guide.published", body)
    postgres_model.project([item])
    [hit] = postgres_model.search("after")
    assert (hit.title, hit.snippet) == ("Nul\ufffd guide", "Before\ufffd[after].")


def test_accents_are_marked_only_with_unaccent(postgres_model: PostgresModel) -> None:
    Story(postgres_model)
    cursor = postgres_model.cursor
    plain = (
        "ALTER TEXT SEARCH CONFIGURATION search_words "
        "ALTER MAPPING FOR word WITH simple"
    )
    with postgres_model.connection.transaction():
        cursor.execute_postgres(plain)
    [hit] = postgres_model.search("ty")  # found all the same: folded in Python
    assert hit.snippet == "Tŷ Cymunedol open evening"
    with postgres_model.connection.transaction():
        search_pg.create(cursor)  # maps unaccent again
        search_pg.create(cursor)  # and changes nothing more
    [hit] = postgres_model.search("ty")
    assert hit.snippet == "[Tŷ] Cymunedol open evening"
