"""Summarise helper: a study's person-days -> usual-intake rows of `population_summary`.

The NCI amount-only model (`camg.population.usual_intake`, Tooze et al. 2006) is fitted once per DRI group
(sex x DRI age band x life stage), whose persons share one EAR and UL. Every other group (WWEIA
ages, 1+, 2+, 2-19, 20+, overall) takes the pseudo-persons of its members from those fits, pooled
with their weights, each compared with the EAR (UL) of its own DRI group: the usual-intake
distribution of a mixed group is the mixture of its parts, and the EAR cut-point method applies
each person's own requirement (IOM 2000, DRI: Applications in Dietary Assessment, ch. 4). Persons
whose DRI group could not be fitted are not represented; the note says how many.
"""

from dataclasses import dataclass

import numpy as np
import polars as pl

from camg.population.groups import Group, Study
from camg.population.replicates import replicate_design
from camg.population.survey import weighted_mean
from camg.population.usual_intake import PERCENTILES, UsualIntakeResult, estimate_usual_intake
from camg.population.usual_se import STATISTICS, Refit, refit_inputs, replicate_ses
from camg.reference import Reference

NUTRIENTS = ("calcium", "magnesium")
DriValue = tuple[str | None, float | None]


@dataclass(frozen=True)
class ModelConstants:
    """The model's constants, from the rules table (`usual.*`, each with its source)."""

    n_sim: int  # pseudo-persons per person
    seed: int  # of the Monte Carlo draws and of the random-group jackknife
    min_repeat: int  # persons with 2+ recalls a DRI group needs to be fitted
    k: int  # pseudo-persons per person kept for the replicate refits

    @classmethod
    def of(cls, reference: Reference) -> "ModelConstants":
        """The constants the rules table names."""
        names = ["pseudo_persons", "seed", "min_repeat_persons", "replicate_pseudo_persons"]
        return cls(*(int(reference.threshold(f"usual.{name}")) for name in names))


@dataclass(frozen=True, eq=False)
class GroupFit:
    """One DRI group's usual-intake fit of one nutrient, with that group's EAR and UL."""

    group: Group
    nutrient: str
    fit: UsualIntakeResult
    ear: DriValue
    ul: DriValue
    refit: Refit | None


def group_value(members: pl.DataFrame, kind: str) -> DriValue:
    """(rule id, value) of a DRI value shared by the whole group, else (None, None)."""
    pairs = members.select(f"{kind}_rule_id", f"{kind}_mg").unique().drop_nulls()
    if pairs.height != 1 or members[f"{kind}_mg"].null_count():
        return None, None
    return pairs.row(0)[0], float(pairs.row(0)[1])


def fit_group(study: Study, group: Group, nutrient: str, c: ModelConstants) -> GroupFit:
    """Fit one DRI group; pseudo-persons are keyed by their person's row in `study.persons`.

    `c.k`: pseudo-persons per person kept for the replicate refits (`camg.population.usual_se`).
    """
    members = study.persons.filter(pl.Series(group.mask))
    rows = study.persons.select("person_id").with_row_index("row")
    days = (
        study.days.join(members.select("person_id"), on="person_id", how="semi")
        .filter(pl.col("usual_weight") > 0)
        .join(rows, on="person_id")
    )
    ear, ul = group_value(members, f"{nutrient}_ear"), group_value(members, f"{nutrient}_ul")
    y, rows = days[f"{nutrient}_mg"].to_numpy(), days["row"].to_numpy()
    day, w = days["recall_day"].to_numpy(), days["usual_weight"].to_numpy()
    fit = estimate_usual_intake(
        y, rows, day, w, cutpoint=ear[1], min_repeat=c.min_repeat, n_sim=c.n_sim, seed=c.seed
    )
    refit = None
    if fit.ok:
        keep = np.isfinite(y)
        args = (fit.boxcox_lambda, fit.zero_offset, c.seed, c.n_sim, c.k, ear[1], ul[1])
        refit = refit_inputs(y[keep], rows[keep], day[keep], w[keep], *args)
    return GroupFit(group, nutrient, fit, ear, ul, refit)


def usual_statistics(
    usual: np.ndarray,
    weights: np.ndarray,
    ear: np.ndarray,
    ul: np.ndarray,
    order: np.ndarray | None = None,
) -> dict[str, float]:
    """Mean, percentiles, % below each pseudo-person's EAR and % above its UL (NaN = none).

    `order`: the stable sort order of `usual` when the caller has it (`Pool`), else sorted here.
    """
    out = {"mean": weighted_mean(usual, weights)}
    if usual.size:
        order = np.argsort(usual, kind="stable") if order is None else order
        cdf = np.cumsum(weights[order]) / weights.sum()
        for p in PERCENTILES:
            idx = min(int(np.searchsorted(cdf, p / 100 - 1e-12)), usual.size - 1)
            out[f"p{p}"] = float(usual[order[idx]])
    for statistic, cut, below in (("pct_below_ear", ear, True), ("pct_above_ul", ul, False)):
        known = np.isfinite(cut)
        hit = usual[known] < cut[known] if below else usual[known] > cut[known]
        out[statistic] = 100 * weighted_mean(hit.astype(float), weights[known])
    return out


def dri_rows(fit: GroupFit) -> list[dict]:
    """Rows of one DRI group's fit (with its EAR and UL rules); a failed fit: nulls and the reason."""
    f = fit.fit
    note = f.reason or (
        f"NCI amount-only model: {f.n_persons} persons, {f.n_repeat} with 2+ days, "
        f"Box-Cox lambda {f.boxcox_lambda:.2f}"
    )
    n = f.usual.size
    ear, ul = (np.full(n, np.nan if v[1] is None else v[1]) for v in (fit.ear, fit.ul))
    stats = usual_statistics(f.usual, f.usual_weights, ear, ul)
    rules = {"pct_below_ear": fit.ear, "pct_above_ul": fit.ul}
    rows = []
    for row in _rows(fit.group, fit.nutrient, stats, f.n_persons, f.usual_weights, note):
        rule = rules.get(row["statistic"])
        if rule is not None and rule[1] is None:
            continue  # no EAR (infants: AI) or no UL for this group
        if rule is not None:
            row |= {"threshold_rule_id": rule[0], "threshold_value": rule[1]}
        rows.append(row)
    return rows


def _pooled(parts: list[tuple[GroupFit, np.ndarray]], name: str) -> np.ndarray:
    """One array over the selected pseudo-persons of several fits: values, weights, EARs or ULs."""
    if not parts:
        return np.empty(0)
    if name in ("usual", "usual_weights"):
        return np.concatenate([getattr(f.fit, name)[sel] for f, sel in parts])
    filled = []
    for fit, sel in parts:
        value = getattr(fit, name)[1]
        filled.append(np.full(int(sel.sum()), np.nan if value is None else value))
    return np.concatenate(filled)


@dataclass(frozen=True, eq=False)
class Pool:
    """Every fitted DRI group's pseudo-persons of one nutrient, in fit order, sorted once.

    A pooled group's pseudo-persons are a subset in the same order, so their stable sort order is
    the pool's restricted to them (same ties): one sort per nutrient instead of one per group.
    """

    fits: list[GroupFit]
    order: np.ndarray

    @classmethod
    def of(cls, fits: list[GroupFit]) -> "Pool":
        """The pool of the fitted groups."""
        ok = [f for f in fits if f.fit.ok]
        usual = np.concatenate([f.fit.usual for f in ok]) if ok else np.empty(0)
        return cls(ok, np.argsort(usual, kind="stable"))

    def order_of(self, group: Group) -> np.ndarray:
        """The stable sort order of the group's pooled pseudo-persons."""
        masks = [group.mask[f.fit.usual_person] for f in self.fits]
        selected = np.concatenate(masks) if masks else np.zeros(0, bool)
        local = np.cumsum(selected) - 1
        return local[self.order[selected[self.order]]]


def pooled_rows(group: Group, fits: list[GroupFit], study: Study, pool: Pool) -> list[dict]:
    """Rows of a non-DRI group from its members' pseudo-persons in the DRI-group fits."""
    parts = [(f, group.mask[f.fit.usual_person]) for f in pool.fits]
    parts = [(f, sel) for f, sel in parts if sel.any()]
    usual, weights = _pooled(parts, "usual"), _pooled(parts, "usual_weights")
    covered = int(sum(np.unique(f.fit.usual_person[sel]).size for f, sel in parts))
    has_days = study.persons["person_id"].is_in(study.days["person_id"].implode()).to_numpy()
    weighted = study.persons["usual_weight"].fill_null(0).to_numpy() > 0
    eligible = int((group.mask & has_days & weighted).sum())
    note = (
        f"pooled pseudo-persons of {len(parts)} DRI-group fits (NCI amount-only model), each "
        f"compared with its own group's EAR/UL; {covered} of {eligible} persons represented"
        + ("" if covered == eligible else " (groups without a fit left out)")
    )
    ear, ul = _pooled(parts, "ear"), _pooled(parts, "ul")
    stats = usual_statistics(usual, weights, ear, ul, pool.order_of(group))
    return _rows(group, fits[0].nutrient, stats if parts else {}, covered, weights, note)


def _rows(
    group: Group,
    nutrient: str,
    stats: dict[str, float],
    n_persons: int,
    weights: np.ndarray,
    note: str,
) -> list[dict]:
    """Mart rows of one group and nutrient (NaN -> null); Mg has no usual UL row (supplements)."""
    names = ["mean", *(f"p{p}" for p in PERCENTILES), "pct_below_ear"]
    names += ["pct_above_ul"] if nutrient == "calcium" else []
    return [
        {
            **group.labels,
            "measure": f"{nutrient}_mg",
            "statistic": statistic,
            "threshold_rule_id": None,
            "threshold_value": None,
            "value": _finite(stats.get(statistic)),
            "se": None,
            "se_method": None,
            "n_persons": int(n_persons),
            "population_weighted": float(weights.sum()) if weights.size else None,
            "note": note,
        }
        for statistic in names
    ]


def _finite(value: float | None) -> float | None:
    """A float, or None for a missing or NaN value."""
    return float(value) if value is not None and np.isfinite(value) else None


def usual_intake_rows(study: Study, groups: list[Group], reference: Reference) -> list[dict]:
    """Usual-intake rows of every group (DRI groups fitted, the others pooled), with replicate SEs."""
    dri = [g for g in groups if g.grouping == "dri_age_group"]
    others = [g for g in groups if g.grouping != "dri_age_group"]
    constants = ModelConstants.of(reference)
    design = replicate_design(
        study.strata,
        study.psu,
        study.persons.height,
        rho=reference.threshold("usual.brr_fay_coefficient"),
        srs_groups=int(reference.threshold("usual.srs_jackknife_groups")),
        seed=constants.seed,
    )
    rows = []
    for nutrient in NUTRIENTS:
        fits = [fit_group(study, g, nutrient, constants) for g in dri]
        ses = replicate_ses(
            [f.refit for f in fits if f.refit is not None],
            [g.mask for g in dri + others],
            design,
            study.persons.height,
        )
        pool = Pool.of(fits)
        made = [dri_rows(f) for f in fits] + [pooled_rows(g, fits, study, pool) for g in others]
        # Without a stratum of two or more PSUs no replicate varies: no SE and no df (null, not 0).
        estimable = design.df >= 1
        for group_rows, group_ses in zip(made, ses, strict=True):
            for row in group_rows:
                se = group_ses[STATISTICS.index(row["statistic"])]
                known = estimable and row["value"] is not None and np.isfinite(se)
                row |= {"se": float(se) if known else None, "se_method": design.method}
                row |= {"df": design.df if estimable else None}
            rows += group_rows
    weight_name = study.persons["usual_weight_variable"][0]
    return [r | {"weight_variable": weight_name} for r in rows]
