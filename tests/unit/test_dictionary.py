"""The data dictionary: one TOML file -> database comments and docs/marts.md."""

from pathlib import Path

import duckdb
import pytest

from camg.publish import dictionary
from camg.publish.run_folder import view_files

REPO = Path(__file__).resolve().parents[2]

TINY = """
[columns]
run_id = "Run that published the row."

[tables.t]
grain = "thing"
description = "Things, each one's weight."
shared = ["run_id"]
[tables.t.columns]
weight_grams = "Weight, g (the cook's scale)."
"""


def test_committed_docs_match_the_dictionary():
    expected = dictionary.render_markdown(dictionary.load_dictionary())
    committed = (REPO / "docs" / "marts.md").read_text(encoding="utf-8")
    assert committed == expected, (
        "docs/marts.md is stale: python -m camg.publish.dictionary docs/marts.md"
    )


def test_every_view_file_is_documented_and_every_documented_view_has_a_file():
    documented = {n for n, r in dictionary.load_dictionary().relations.items() if r.kind == "view"}
    assert documented == set(view_files())


def test_every_relation_has_grain_description_and_columns():
    for name, entry in dictionary.load_dictionary().relations.items():
        assert entry.grain, name
        assert entry.description, name
        assert entry.columns, name
        assert "run_id" in entry.columns, f"{name}: every mart row names its run"


def test_comments_land_on_documented_columns_and_the_rest_are_listed():
    with duckdb.connect() as con:
        con.execute("create table t as select 'r1' as run_id, 2.5 as weight_grams, 1 as extra")
        dictionary.apply_comments(con, dictionary.load_dictionary(TINY), rules_version="v9")
        table = con.sql("select comment from duckdb_tables() where table_name = 't'").fetchall()
        weight = con.sql(
            "select comment from duckdb_columns() where column_name = 'weight_grams'"
        ).fetchall()
        missing = dictionary.undocumented(con)
    assert table == [("One row per thing. Things, each one's weight. Rules version: v9.",)]
    assert weight == [("Weight, g (the cook's scale).",)]  # the quote survives the SQL literal
    assert missing == ["t.extra"]


def test_shared_column_must_be_described_under_columns():
    text = TINY.replace('shared = ["run_id"]', 'shared = ["run_id", "person_id"]')
    with pytest.raises(ValueError, match="person_id"):
        dictionary.load_dictionary(text)


@pytest.mark.parametrize("name", ["t\" is 'x'; drop table t; --", "T", "1t", "a b"])
def test_names_that_are_not_plain_identifiers_are_refused(name):
    with pytest.raises(ValueError, match="identifier"):
        dictionary.quoted_identifier(name)


def test_markdown_lists_each_column_with_its_meaning():
    text = dictionary.render_markdown(dictionary.load_dictionary(TINY))
    assert "### t\n\nOne row per thing. Things, each one's weight.\n" in text
    assert "| weight_grams | Weight, g (the cook's scale). |" in text
