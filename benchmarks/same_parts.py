"""Two diary-file parts frame-equal: every Parquet file (rows, columns, dtypes, order) and the counts.

    python benchmarks/diary_file.py --rows 1M --workdir /tmp/w                   # this checkout
    PYTHONPATH=/other/checkout python benchmarks/diary_file.py --rows 1M --workdir /tmp/w
    python benchmarks/same_parts.py <folder of one> <folder of the other>

`diary_file.py` prints each part's folder; parts are keyed by the code, so two checkouts' parts of
the same file lie side by side under the workdir. Exits non-zero on the first difference.
"""

import argparse
import json
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

# part.json fields that name the part rather than describe its content.
NAMING = ("key", "folder")


def same_parts(a: Path, b: Path) -> list[str]:
    """Assert the two part folders hold the same frames and counts; one line per file compared."""
    names = sorted(p.name for p in a.glob("*.parquet"))
    other = sorted(p.name for p in b.glob("*.parquet"))
    assert names == other, f"different files: {names} vs {other}"
    lines = []
    for name in names:
        left, right = pl.read_parquet(a / name), pl.read_parquet(b / name)
        assert left.schema == right.schema, f"{name}: {left.schema} vs {right.schema}"
        assert_frame_equal(left, right, check_exact=True)
        lines.append(f"{name}: {left.height} rows x {left.width} columns, identical")
    meta = [json.loads((d / "part.json").read_text(encoding="utf-8")) for d in (a, b)]
    for m in meta:
        for field in NAMING:
            m.pop(field, None)
    assert meta[0] == meta[1], f"part.json: {meta[0]} vs {meta[1]}"
    return [*lines, f"part.json: same counts ({meta[0]['rows_in']} rows in)"]


def main() -> None:
    """Compare the two folders given."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    args = parser.parse_args()
    print("\n".join(same_parts(args.a, args.b)))


if __name__ == "__main__":
    main()
