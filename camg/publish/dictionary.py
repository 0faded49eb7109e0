"""Data dictionary: camg/publish/dictionary.toml -> COMMENT ON in every published database, and docs/marts.md.

The TOML file is the one place the marts are described; the database comments and the Markdown are
generated from it. Write docs/marts.md with `python -m camg.publish.dictionary docs/marts.md`.
"""

import re
import sys
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import duckdb

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class Relation:
    """A documented table or view: its grain, what it holds and the meaning of each column."""

    name: str
    kind: str  # "table" or "view"
    grain: str
    description: str
    columns: dict[str, str]

    def comment(self, rules_version: str) -> str:
        """The relation's comment in the database: grain, meaning and the rules version used."""
        return f"One row per {self.grain}. {self.description} Rules version: {rules_version}."


@dataclass(frozen=True)
class Dictionary:
    """Every documented relation, by name, and the example analyst queries."""

    relations: dict[str, Relation]
    examples: list[tuple[str, str]]

    def column(self, relation: str, column: str) -> str | None:
        """What a column of a relation means, or None when the dictionary does not say."""
        entry = self.relations.get(relation)
        return entry.columns.get(column) if entry else None


def relation(name: str, kind: str, entry: dict, common: dict[str, str]) -> Relation:
    """One relation of the TOML file, its `shared` column names resolved against [columns]."""
    unknown = [c for c in entry.get("shared", []) if c not in common]
    if unknown:
        raise ValueError(f"{kind} {name}: shared columns not in [columns]: {unknown}")
    columns = {c: common[c] for c in entry.get("shared", [])} | entry.get("columns", {})
    return Relation(name, kind, entry["grain"], entry["description"], columns)


def load_dictionary(text: str | None = None) -> Dictionary:
    """The dictionary from camg/publish/dictionary.toml (or from `text`, in the same format)."""
    if text is None:
        text = (
            resources.files("camg.publish").joinpath("dictionary.toml").read_text(encoding="utf-8")
        )
    data = tomllib.loads(text)
    common = data.get("columns", {})
    relations = {
        name: relation(name, kind, entry, common)
        for section, kind in (("tables", "table"), ("views", "view"))
        for name, entry in data.get(section, {}).items()
    }
    examples = [(e["title"], e["sql"].strip()) for e in data.get("examples", [])]
    return Dictionary(relations, examples)


def quoted_identifier(name: str) -> str:
    """A table or column name for DDL, refused unless it is a plain snake_case identifier."""
    if not IDENTIFIER.match(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return f'"{name}"'


def string_literal(text: str) -> str:
    """A SQL string literal. COMMENT ON takes no bound parameters, and the text is our own."""
    return "'" + text.replace("'", "''") + "'"


def published_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, str | None]]:
    """(relation, kind, column, comment) of every user table and view column, in table order."""
    return con.sql(
        """
        select c.table_name, case when v.view_name is null then 'table' else 'view' end,
               c.column_name, c.comment
        from duckdb_columns() as c
        left join duckdb_views() as v
            on v.view_name = c.table_name and v.schema_name = c.schema_name and not v.internal
        where not c.internal and c.schema_name = 'main'
            and c.database_name = current_database()
        order by c.table_name, c.column_index
        """
    ).fetchall()


def comment_statements(
    dictionary: Dictionary, columns: list[tuple[str, str, str, str | None]], rules_version: str
) -> list[str]:
    """COMMENT ON statements for every documented relation and column present in the database."""
    statements = []
    kinds = {rel: kind for rel, kind, *_ in columns}
    for name, kind in sorted(kinds.items()):
        entry = dictionary.relations.get(name)
        if entry is not None:
            text = string_literal(entry.comment(rules_version))
            statements.append(f"comment on {kind} {quoted_identifier(name)} is {text}")
    for name, _, column, _ in columns:
        meaning = dictionary.column(name, column)
        if meaning is not None:
            target = f"{quoted_identifier(name)}.{quoted_identifier(column)}"
            statements.append(f"comment on column {target} is {string_literal(meaning)}")
    return statements


def apply_comments(
    con: duckdb.DuckDBPyConnection, dictionary: Dictionary, rules_version: str
) -> None:
    """Write the dictionary into the database as comments (undocumented columns stay bare)."""
    statements = comment_statements(dictionary, published_columns(con), rules_version)
    con.execute("begin transaction")  # one commit, not one per comment
    for statement in statements:
        con.execute(statement)
    con.execute("commit")


def undocumented(con: duckdb.DuckDBPyConnection) -> list[str]:
    """`relation.column` of every published column without a comment, for the tests to list."""
    return [f"{rel}.{col}" for rel, _, col, comment in published_columns(con) if not comment]


def markdown_relation(entry: Relation) -> list[str]:
    """One relation's section of docs/marts.md."""
    lines = [f"### {entry.name}", "", f"One row per {entry.grain}. {entry.description}", ""]
    lines += ["| column | meaning |", "|---|---|"]
    lines += [f"| {col} | {text.replace('|', '/')} |" for col, text in entry.columns.items()]
    return [*lines, ""]


def render_markdown(dictionary: Dictionary) -> str:
    """docs/marts.md: every table and view with its columns, then the example queries."""
    lines = [
        "# camg marts: data dictionary",
        "",
        "Generated from `camg/publish/dictionary.toml` by",
        "`python -m camg.publish.dictionary docs/marts.md`; edit the",
        "TOML file, not this one. The same text is in every published database: table comments in",
        "`duckdb_tables()` / `duckdb_views()` (they end with the rules version of the run) and column",
        "comments in `duckdb_columns()`. Open the marts read-only: `duckdb -readonly",
        "data/marts/camg.duckdb`, or `duckdb.connect('data/marts/camg.duckdb', read_only=True)`; the",
        'README\'s "Marts and publishing" section says why that is safe while a run publishes.',
        "",
    ]
    for kind, title in (("table", "Tables"), ("view", "Views")):
        lines += [f"## {title}", ""]
        for entry in dictionary.relations.values():
            lines += markdown_relation(entry) if entry.kind == kind else []
    lines += ["## Example queries", ""]
    for title, sql in dictionary.examples:
        lines += [f"### {title}", "", "```sql", sql, "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str]) -> int:
    """Write docs/marts.md (or the path given) from the dictionary."""
    target = Path(argv[0]) if argv else Path("docs/marts.md")
    target.write_text(render_markdown(load_dictionary()), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
