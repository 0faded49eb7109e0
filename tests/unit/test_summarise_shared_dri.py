"""camg.population.shared_dri: the EAR / UL a group's members share, read from arrays, is what the
distinct (rule id, value) pairs of its members say."""

import itertools

import numpy as np
import polars as pl

from camg.population.shared_dri import SharedDri


def pairs_say(members: pl.DataFrame, kind: str):
    """The definition: one distinct (rule id, value) pair without nulls, and no member without a value."""
    pairs = members.select(f"{kind}_rule_id", f"{kind}_mg").unique().drop_nulls()
    if pairs.height != 1 or members[f"{kind}_mg"].null_count():
        return None, None
    return pairs.row(0)[0], float(pairs.row(0)[1])


def test_shared_values_are_those_of_the_members_pairs():
    persons = pl.DataFrame(
        {
            "calcium_ear_rule_id": ["a", "a", "b", None, "a", "c", "c"],
            "calcium_ear_mg": [800.0, 800.0, 1000.0, 800.0, 800.0, None, 700.0],
        }
    )
    dri = SharedDri.of(persons, ("calcium_ear",))
    found = set()
    for size in range(persons.height + 1):
        for members in itertools.combinations(range(persons.height), size):
            mask = np.zeros(persons.height, bool)
            mask[list(members)] = True
            expected = pairs_say(persons.filter(pl.Series(mask)), "calcium_ear")
            assert dri.value(mask, "calcium_ear") == expected
            found.add(expected)
    assert {("a", 800.0), ("b", 1000.0), ("c", 700.0), (None, None)} <= found
