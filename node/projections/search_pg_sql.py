"""Every SQL statement of the search read model on PostgreSQL (:mod:`.search_pg`).

Native PostgreSQL, run through ``PgCursor.execute_postgres`` (psycopg's
``%s`` and ``%(name)s`` parameters); the SQLite twin is the ``search``
section of :mod:`.sql`. Statements joined from the constants beside them
carry ``noqa: S608``. No part of any statement comes from input: a
member's words arrive as one ``to_tsquery`` parameter (``%(every)s``, every
word ANDed; ``%(some)s``, ORed, for snippets), quoted word by word.
"""

from __future__ import annotations

from typing import Final

# ``search_words``: the text search configuration of the index, the queries
# and the snippets: ``simple`` (no stemming, no stop words), plus ``unaccent``
# when present, in the node's schema (found through the search path).

#: Token types that may hold letters with diacritics (``unaccent`` folds them).
LETTER_TOKENS: Final = "word, hword, hword_part, numword, numhword, hword_numpart"

CONFIGURATION_EXISTS: Final = (
    "SELECT 1 FROM pg_ts_config WHERE cfgname = 'search_words' "
    "AND cfgnamespace = current_schema()::regnamespace"
)
CREATE_CONFIGURATION: Final = (
    "CREATE TEXT SEARCH CONFIGURATION search_words (COPY = pg_catalog.simple)"
)
#: The letter token types that ``unaccent`` does not fold yet (none when the
#: configuration is complete).
NOT_UNACCENTED: Final = (
    "SELECT token.alias FROM ts_token_type('default') AS token "  # noqa: S608
    "WHERE token.alias = ANY(string_to_array('"
    + LETTER_TOKENS
    + "', ', ')) AND NOT EXISTS (SELECT 1 FROM pg_ts_config_map AS map "
    "JOIN pg_ts_dict AS dictionary ON dictionary.oid = map.mapdict "
    "WHERE map.mapcfg = 'search_words'::regconfig "
    "AND map.maptokentype = token.tokid AND dictionary.dictname = 'unaccent')"
)
#: The ``unaccent`` dictionary's qualified, quoted name, when installed.
UNACCENT: Final = (
    "SELECT quote_ident(namespace.nspname) || '.unaccent' FROM pg_extension "
    "JOIN pg_namespace AS namespace ON namespace.oid = pg_extension.extnamespace "
    "WHERE pg_extension.extname = 'unaccent'"
)
#: Where to install it: ``public`` when we may (a database has one copy, and
#: a node's schema may be dropped with everything in it), else our schema.
UNACCENT_HOME: Final = (
    "SELECT quote_ident(CASE WHEN to_regnamespace('public') IS NULL "
    "THEN current_schema() WHEN has_schema_privilege('public', 'CREATE') "
    "THEN 'public' ELSE current_schema() END) "
    "FROM pg_available_extensions WHERE name = 'unaccent'"
)
CREATE_SEARCH: Final = (
    "CREATE TABLE IF NOT EXISTS search ("
    "position BIGINT PRIMARY KEY, "
    'type TEXT COLLATE "C" NOT NULL, '
    'feed TEXT COLLATE "C" NOT NULL, '
    "seq BIGINT NOT NULL, "
    'id TEXT COLLATE "C" NOT NULL, '
    'title TEXT COLLATE "C" NOT NULL, '
    'text TEXT COLLATE "C" NOT NULL, '
    "document TSVECTOR NOT NULL)",
    "CREATE INDEX IF NOT EXISTS search_document ON search USING GIN (document)",
    # Keyed by the same position, so a redaction removes it with the words.
    "CREATE TABLE IF NOT EXISTS search_places ("
    "position BIGINT PRIMARY KEY, "
    "lat_e6 BIGINT NOT NULL, "
    "lon_e6 BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS search_places_at ON search_places (lat_e6, lon_e6)",
)
DROP_SEARCH: Final = (
    "DROP TABLE IF EXISTS search",
    "DROP TABLE IF EXISTS search_places",
)
INSERT_SEARCH: Final = (
    "INSERT INTO search (position, type, feed, seq, id, title, text, document) "
    "VALUES (%(position)s, %(type)s, %(feed)s, %(seq)s, %(id)s, %(title)s, "
    "%(text)s, setweight(to_tsvector('search_words', %(title_words)s), 'A') "
    "|| setweight(to_tsvector('search_words', %(text_words)s), 'B'))"
)
INSERT_SEARCH_PLACE: Final = (
    "INSERT INTO search_places VALUES (%s, %s, %s) ON CONFLICT (position) "
    "DO UPDATE SET lat_e6 = excluded.lat_e6, lon_e6 = excluded.lon_e6"
)
DELETE_SEARCH_TARGET: Final = (
    "DELETE FROM search WHERE position IN "
    "(SELECT position FROM events WHERE id = %s AND feed = %s)"
)
DELETE_SEARCH_PLACE_TARGET: Final = (
    "DELETE FROM search_places WHERE position IN "
    "(SELECT position FROM events WHERE id = %s AND feed = %s)"
)
#: Ranked positions after ``offset`` with the filters of ``SEARCH_PAGE`` in
#: :mod:`.sql`: types (a name keeps itself and the types below it), feeds
#: left out, and the box around ``near`` (the caller checks the radius).
#: Weights are {D, C, B, A}: a title word (A) counts four times a text word;
#: normalisation 1 divides by 1 + log(words), so, as with bm25, a word
#: weighs more in a short event than in a long one.
SEARCH_RANKED: Final = (
    "SELECT search.position, placed.lat_e6, placed.lon_e6 FROM search "
    "LEFT JOIN search_places AS placed ON placed.position = search.position "
    "WHERE search.document @@ to_tsquery('search_words', %(every)s) "
    "AND (%(any_type)s OR EXISTS (SELECT 1 FROM unnest(%(types)s::text[]) "
    "AS wanted WHERE search.type = wanted "
    "OR starts_with(search.type, wanted || '.'))) "
    "AND NOT search.feed = ANY(%(blocked)s::text[]) "
    "AND (NOT %(near)s OR (placed.lat_e6 BETWEEN %(min_lat)s AND %(max_lat)s "
    "AND placed.lon_e6 BETWEEN %(min_lon)s AND %(max_lon)s)) "
    "ORDER BY ts_rank('{0, 0, 0.25, 1}', search.document, "
    "to_tsquery('search_words', %(every)s), 1) DESC, search.position "
    "LIMIT %(limit)s OFFSET %(offset)s"
)


#: The hits at the given positions, with a fragment of each column: the one
#: holding every word of the query, or when the column lacks one (the words
#: are split between title and text), the one holding most of them.
SEARCH_HITS: Final = (
    "SELECT search.position, search.type, search.feed, search.seq, search.id, "
    "search.title, search.text, "
    "(SELECT CASE WHEN strpos(shown, %(start)s) > 0 THEN shown "
    "ELSE ts_headline('search_words', search.title, "
    "to_tsquery('search_words', %(some)s), %(options)s) END "
    "FROM ts_headline('search_words', search.title, "
    "to_tsquery('search_words', %(every)s), %(options)s) AS shown) "
    "AS title_headline, "
    "(SELECT CASE WHEN strpos(shown, %(start)s) > 0 THEN shown "
    "ELSE ts_headline('search_words', search.text, "
    "to_tsquery('search_words', %(some)s), %(options)s) END "
    "FROM ts_headline('search_words', search.text, "
    "to_tsquery('search_words', %(every)s), %(options)s) AS shown) "
    "AS text_headline "
    "FROM search WHERE search.position = ANY(%(positions)s::bigint[])"
)
#: Fold diacritics before ``simple`` (``{dictionary}``: the quoted name that
#: ``UNACCENT`` answers, from the catalogue, never from input).
MAP_UNACCENT: Final = (
    "ALTER TEXT SEARCH CONFIGURATION search_words ALTER MAPPING FOR "
    + LETTER_TOKENS
    + " WITH {dictionary}, simple"
)
#: ``{schema}``: the quoted name that ``UNACCENT_HOME`` answers.
CREATE_UNACCENT: Final = "CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA {schema}"
