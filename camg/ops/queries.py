"""The mart SQL files, read by name (one `.sql` file per table, bound parameters only)."""

from importlib import resources


def query(name: str) -> str:
    """The text of `camg/sql/<name>.sql`."""
    return resources.files("camg").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")
