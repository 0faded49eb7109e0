"""Rules the reports compare against, read from the `reference_rules` mart (the table as the run used it)."""

from dataclasses import dataclass

import polars as pl

from camg.report.charts import Bands

BAND_RULES = (
    "ratio.detrimental_low",
    "ratio.optimal_low",
    "ratio.optimal_high",
    "ratio.detrimental_high",
)
SUGGEST_GROUP_KIND = "suggest_food_group"


@dataclass(frozen=True)
class RuleRow:
    """One rule as a report cites it."""

    rule_id: str
    value: float
    unit: str
    source: str
    source_detail: str


class Rules:
    """Lookup over the rules table of the published run."""

    def __init__(self, reference_rules: pl.DataFrame) -> None:
        """Index the rules by id."""
        self.frame = reference_rules
        self._by_id = {
            row["rule_id"]: RuleRow(
                row["rule_id"], row["value"], row["unit"], row["source"], row["source_detail"] or ""
            )
            for row in reference_rules.iter_rows(named=True)
        }

    def get(self, rule_id: str) -> RuleRow | None:
        """A rule, or None when the run's table does not hold it."""
        return self._by_id.get(rule_id)

    def value(self, rule_id: str) -> float | None:
        """A rule's value, or None when absent."""
        rule = self._by_id.get(rule_id)
        return None if rule is None else rule.value

    def bands(self) -> Bands:
        """The Ca:Mg ratio band edges (low 1.7, optimal high 2.6, high 2.8 in the shipped rules)."""
        values = [
            self.value(r)
            for r in ("ratio.detrimental_low", "ratio.optimal_high", "ratio.detrimental_high")
        ]
        if any(v is None for v in values):
            raise KeyError("the rules table lacks the Ca:Mg ratio band rules")
        low, optimal_high, high = (float(v) for v in values if v is not None)
        return Bands(low, optimal_high, high)

    def band_rules(self) -> list[RuleRow]:
        """The ratio band rules with their sources, in band order."""
        return [rule for rule_id in BAND_RULES if (rule := self.get(rule_id)) is not None]

    def suggestion_groups(self) -> dict[str, str]:
        """FNDDS code prefixes whose foods may be suggested, with the group name (rule scope)."""
        rows = self.frame.filter(pl.col("kind") == SUGGEST_GROUP_KIND)
        return {str(int(row["value"])): row["scope"] for row in rows.iter_rows(named=True)}

    def sources(self) -> list[str]:
        """The published sources of the DRI and ratio rules (camg's own engineering rules excluded)."""
        nutrition = pl.col("nutrient").is_in(["calcium", "magnesium", "ca_mg_ratio"])
        cited = self.frame.filter(nutrition & (pl.col("verification") != "ENGINEERING"))["source"]
        return sorted(set(cited.drop_nulls().to_list()))
