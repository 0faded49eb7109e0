"""ingest.sidecar.dietary_weights: per person, the first usable weight of each kind, in row order.

The weights are parsed once per distinct (study, person, weights) text; these check the result
against the plain definition, row by row, for any rows.
"""

import math

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from camg.ingest.sidecar import dietary_weights

WEIGHTS = ["", " ", "1", "2.5", " 7 ", "-1", "inf", "nan", "x", "1e3", "0", None]
PEOPLE = ["1", " 1", "1 ", "2", "10", "", None]


def usable(cell: str | None) -> float | None:
    """A weight cell as the sidecar reads it: a plain non-negative finite decimal, else None."""
    text = (cell or "").strip()
    try:
        value = float(text)
    except ValueError:
        return None
    if text.lower().lstrip("+-") in {"inf", "infinity", "nan"} or "_" in text:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def by_definition(rows: list[tuple]) -> list[tuple]:
    """Per (study, trimmed person) in first appearance order: the first usable weight of each kind."""
    found: dict[tuple, list] = {}
    for study, person, one, two in rows:
        key = (study, (person or "").strip() or None)
        held = found.setdefault(key, [None, None])
        for i, cell in enumerate((one, two)):
            if held[i] is None:
                held[i] = usable(cell)
    return [(*key, one, two) for key, (one, two) in found.items()]


def frame(rows: list[tuple]) -> pl.DataFrame:
    names = ["study_id", "person_id", "weight_one_day", "weight_two_day"]
    return pl.DataFrame(rows, schema=dict.fromkeys(names, pl.String), orient="row")


def test_a_persons_first_usable_weights_whatever_rows_repeat():
    rows = [
        ("s", "1", None, "1"),
        ("s", " 1", "x", "1"),
        ("s", "2", "5", None),
        ("s", "1", "7", "-1"),
        ("s", "2", "", "3"),
        ("t", "1", "2", "2"),
        ("s", "1", "7", "nan"),
    ]
    assert dietary_weights(frame(rows)).rows() == [
        ("s", "1", 7.0, 1.0),
        ("s", "2", 5.0, 3.0),
        ("t", "1", 2.0, 2.0),
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["s", "t"]),
            st.sampled_from(PEOPLE),
            st.sampled_from(WEIGHTS),
            st.sampled_from(WEIGHTS),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_weights_are_the_row_by_row_definition(rows):
    assert dietary_weights(frame(rows)).rows() == by_definition(rows)
