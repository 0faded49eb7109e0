"""Summarise helper: the EAR (UL) a population group's members share, for its rows' threshold columns.

A row of `population_summary` names the rule and value of its threshold when every member of the
group has the same one (a DRI group); a group that mixes DRI groups has none (null). Read from
arrays made once per study: a polars `filter` and `unique` per group and kind took ~1 s of the
single-day rows' ~3 s per 57,000-person study (benchmarks/population_stage.py).
"""

from dataclasses import dataclass

import numpy as np
import polars as pl

DriValue = tuple[str | None, float | None]
KINDS = tuple(f"{n}_{kind}" for n in ("calcium", "magnesium") for kind in ("ear", "ul"))


@dataclass(frozen=True, eq=False)
class SharedDri:
    """Per kind (e.g. `calcium_ear`): each person's rule id (a code) and value, and null values."""

    codes: dict[str, np.ndarray]  # index into `names`, -1 for a null rule id
    names: dict[str, list[str]]
    values: dict[str, np.ndarray]
    null: dict[str, np.ndarray]  # the value is null

    @classmethod
    def of(cls, persons: pl.DataFrame, kinds: tuple[str, ...] = KINDS) -> "SharedDri":
        """The study's persons' `<kind>_rule_id` and `<kind>_mg` columns as arrays."""
        codes, names, values, null = {}, {}, {}, {}
        for kind in kinds:
            rule, value = persons[f"{kind}_rule_id"], persons[f"{kind}_mg"]
            names[kind] = rule.drop_nulls().unique(maintain_order=True).to_list()
            code = rule.replace_strict(
                names[kind], range(len(names[kind])), default=-1, return_dtype=pl.Int64
            )
            codes[kind] = code.fill_null(-1).to_numpy()
            values[kind] = value.cast(pl.Float64).fill_null(np.nan).to_numpy()
            null[kind] = value.is_null().to_numpy()
        return cls(codes, names, values, null)

    def value(self, mask: np.ndarray, kind: str) -> DriValue:
        """(rule id, value) shared by the persons of `mask`, else (None, None).

        As the distinct (rule id, value) pairs of the members without nulls being exactly one,
        and no member without a value.
        """
        if self.null[kind][mask].any():
            return None, None
        code, value = self.codes[kind][mask], self.values[kind][mask]
        named = code >= 0
        code, value = code[named], value[named]
        if not code.size:
            return None, None
        same = (value == value[0]) | (np.isnan(value) & np.isnan(value[0]))
        if (code != code[0]).any() or not same.all():
            return None, None
        return self.names[kind][code[0]], float(value[0])
