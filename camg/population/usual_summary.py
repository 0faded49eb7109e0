"""Summarise helper: a study's person-days -> usual-intake rows of `population_summary`.

The NCI amount-only model (`camg.population.usual_intake`, Tooze et al. 2006) is fitted once per DRI group
(sex x DRI age band x life stage), whose persons share one EAR and UL. Every other group (WWEIA
ages, 1+, 2+, 2-19, 20+, overall) takes the pseudo-persons of its members from those fits, pooled
with their weights, each compared with the EAR (UL) of its own DRI group: the usual-intake
distribution of a mixed group is the mixture of its parts, and the EAR cut-point method applies
each person's own requirement (IOM 2000, DRI: Applications in Dietary Assessment, ch. 4). Persons
whose DRI group could not be fitted are not represented; the note says how many.
"""

from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from camg.population.groups import Group, Study
from camg.population.pooled import Cells
from camg.population.replicates import Replicates, replicate_design
from camg.population.shared_dri import DriValue, SharedDri
from camg.population.threads import in_order
from camg.population.usual_intake import PERCENTILES, UsualIntakeResult, estimate_usual_intake
from camg.population.usual_pool import PointPool
from camg.population.usual_refit import Refit, refit_inputs
from camg.population.usual_se import STATISTICS, replicate_ses
from camg.reference import Reference

NUTRIENTS = ("calcium", "magnesium")


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
    weight: float | None  # its pseudo-persons' weight total (None: not fitted)


@dataclass(frozen=True, eq=False)
class StudyDays:
    """A study's person-days with a usual-intake weight, as arrays, keyed by the person's study row.

    Made once per study: each DRI group's fit takes its rows by the group's person mask.
    """

    row: np.ndarray
    day: np.ndarray
    w: np.ndarray
    intake: dict[str, np.ndarray]

    @classmethod
    def of(cls, study: Study) -> "StudyDays":
        """The study's days with positive usual weight, each with its person's row."""
        rows = study.persons.select("person_id").with_row_index("row")
        days = study.days.filter(pl.col("usual_weight") > 0).join(
            rows, on="person_id", maintain_order="left"
        )
        intake = {n: days[f"{n}_mg"].to_numpy() for n in NUTRIENTS}
        arrays = (days[c].to_numpy() for c in ("row", "recall_day", "usual_weight"))
        return cls(*arrays, intake)


def fit_group(
    days: StudyDays, group: Group, dri: SharedDri, nutrient: str, c: ModelConstants
) -> GroupFit:
    """Fit one DRI group (`dri`: the study's DRI values); pseudo-persons are keyed by study row.

    `c.k`: pseudo-persons per person kept for the replicate refits (`camg.population.usual_se`).
    """
    mine = group.mask[days.row]
    ear, ul = dri.value(group.mask, f"{nutrient}_ear"), dri.value(group.mask, f"{nutrient}_ul")
    y, rows = days.intake[nutrient][mine], days.row[mine]
    day, w = days.day[mine], days.w[mine]
    keep = np.isfinite(y)
    # The fit's persons' standard normals, drawn once for the fit and (the first k) its refits.
    z = np.random.default_rng(c.seed).standard_normal((np.unique(rows[keep]).size, c.n_sim))
    fit = estimate_usual_intake(
        y,
        rows,
        day,
        w,
        cutpoint=ear[1],
        min_repeat=c.min_repeat,
        n_sim=c.n_sim,
        seed=c.seed,
        summary=False,
        draws=z,
    )
    refit = None
    if fit.ok:
        args = (fit.boxcox_lambda, fit.zero_offset, c.seed, c.n_sim, c.k, ear[1], ul[1], z)
        refit = refit_inputs(y[keep], rows[keep], day[keep], w[keep], *args)
    weight = float(fit.usual_weights.sum()) if fit.usual_weights.size else None
    return GroupFit(group, nutrient, fit, ear, ul, refit, weight)


def pooled(pool: PointPool, fit: GroupFit) -> GroupFit:
    """Add a fit's pseudo-persons to the pool; the fit without them (freed before the next fit)."""
    f = fit.fit
    if f.ok:
        pool.add(f.usual_person, f.usual, f.usual_weights, (_value(fit.ear), _value(fit.ul)))
    empty = np.empty(0)
    return replace(fit, fit=replace(f, usual=empty, usual_weights=empty, usual_person=empty))


def _value(dri: DriValue) -> float:
    """A DRI value, NaN for none."""
    return np.nan if dri[1] is None else dri[1]


def dri_rows(fit: GroupFit, stats: np.ndarray) -> list[dict]:
    """Rows of one DRI group's fit (with its EAR and UL rules); a failed fit: nulls and the reason."""
    f = fit.fit
    note = f.reason or (
        f"NCI amount-only model: {f.n_persons} persons, {f.n_repeat} with 2+ days, "
        f"Box-Cox lambda {f.boxcox_lambda:.2f}"
    )
    rules = {"pct_below_ear": fit.ear, "pct_above_ul": fit.ul}
    rows = []
    for row in _rows(fit.group, fit.nutrient, stats, f.n_persons, fit.weight, note):
        rule = rules.get(row["statistic"])
        if rule is not None and rule[1] is None:
            continue  # no EAR (infants: AI) or no UL for this group
        if rule is not None:
            row |= {"threshold_rule_id": rule[0], "threshold_value": rule[1]}
        rows.append(row)
    return rows


def pooled_rows(
    group: Group, fits: list[GroupFit], eligible: np.ndarray, stats: np.ndarray, weight: float
) -> list[dict]:
    """Rows of a non-DRI group from its members' pseudo-persons in the DRI-group fits."""
    parts = [f for f in fits if f.refit is not None and group.mask[f.refit.rows].any()]
    fitted = np.zeros(group.mask.size, bool)
    for f in parts:
        fitted[f.refit.rows] = True
    covered = int((group.mask & fitted).sum())
    n_eligible = int((group.mask & eligible).sum())
    note = (
        f"pooled pseudo-persons of {len(parts)} DRI-group fits (NCI amount-only model), each "
        f"compared with its own group's EAR/UL; {covered} of {n_eligible} persons represented"
        + ("" if covered == n_eligible else " (groups without a fit left out)")
    )
    stats = stats if parts else np.full(len(STATISTICS), np.nan)
    return _rows(group, fits[0].nutrient, stats, covered, float(weight) if parts else None, note)


def _rows(
    group: Group,
    nutrient: str,
    stats: np.ndarray,
    n_persons: int,
    weight: float | None,
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
            "value": _finite(stats[STATISTICS.index(statistic)]),
            "se": None,
            "se_method": None,
            "n_persons": int(n_persons),
            "population_weighted": weight,
            "note": note,
        }
        for statistic in names
    ]


def _finite(value: float | None) -> float | None:
    """A float, or None for a missing or NaN value."""
    return float(value) if value is not None and np.isfinite(value) else None


def _design(study: Study, reference: Reference, seed: int) -> Replicates:
    """The study's replicate design (`camg.population.replicates`), from the `usual.*` rules."""
    return replicate_design(
        study.strata,
        study.psu,
        study.persons.height,
        rho=reference.threshold("usual.brr_fay_coefficient"),
        srs_groups=int(reference.threshold("usual.srs_jackknife_groups")),
        seed=seed,
    )


def _in_order(groups: list[Group]) -> list[Group]:
    """The groups in the order of the rows: DRI groups (fitted) first, then the pooled ones."""
    dri = [g for g in groups if g.grouping == "dri_age_group"]
    return dri + [g for g in groups if g.grouping != "dri_age_group"]


def usual_point_rows(
    study: Study, groups: list[Group], reference: Reference
) -> tuple[dict[str, list[list[dict]]], dict[str, list[GroupFit]]]:
    """Per nutrient: each group's usual-intake rows without SEs (groups as `_in_order`), and the fits.

    Apart from `usual_ses` so that a run can time the point estimates and the replicate SEs apart.
    """
    ordered = _in_order(groups)
    dri = [g for g in ordered if g.grouping == "dri_age_group"]
    cells = Cells.of([g.mask for g in ordered], study.persons.height)
    constants, days = ModelConstants.of(reference), StudyDays.of(study)
    shared = SharedDri.of(study.persons)
    has_days = study.persons["person_id"].is_in(study.days["person_id"].implode()).to_numpy()
    eligible = has_days & (study.persons["usual_weight"].fill_null(0).to_numpy() > 0)
    made, fitted = {}, {}
    for nutrient in NUTRIENTS:
        pool = PointPool(cells)  # filled one fit at a time, each fit's pseudo-persons then freed
        coming = in_order(  # the next fit is made on a second thread while this one is pooled
            lambda i, n=nutrient: fit_group(days, dri[i], shared, n, constants), len(dri)
        )
        fits = [pooled(pool, fit) for fit in coming]
        stats, weight = pool.statistics(len(STATISTICS))
        del pool
        made[nutrient] = [dri_rows(f, stats[i]) for i, f in enumerate(fits)]
        made[nutrient] += [
            pooled_rows(g, fits, eligible, stats[i], weight[i])
            for i, g in enumerate(ordered)
            if i >= len(dri)
        ]
        fitted[nutrient] = fits
    return made, fitted


def usual_ses(
    study: Study, groups: list[Group], fits: dict[str, list[GroupFit]], reference: Reference
) -> dict[str, np.ndarray]:
    """Per nutrient: groups (as `_in_order`) x STATISTICS replicate SEs of the usual-intake rows."""
    design = _design(study, reference, ModelConstants.of(reference).seed)
    masks = [g.mask for g in _in_order(groups)]
    return {
        nutrient: replicate_ses(
            [f.refit for f in fits[nutrient] if f.refit is not None],
            masks,
            design,
            study.persons.height,
        )
        for nutrient in NUTRIENTS
    }


def with_ses(
    study: Study,
    made: dict[str, list[list[dict]]],
    ses: dict[str, np.ndarray],
    reference: Reference,
) -> list[dict]:
    """The rows of `usual_point_rows` with their SEs, SE method and degrees of freedom."""
    design = _design(study, reference, ModelConstants.of(reference).seed)
    # Without a stratum of two or more PSUs no replicate varies: no SE and no df (null, not 0).
    estimable = design.df >= 1
    rows = []
    for nutrient in NUTRIENTS:
        for group_rows, group_ses in zip(made[nutrient], ses[nutrient], strict=True):
            for row in group_rows:
                se = group_ses[STATISTICS.index(row["statistic"])]
                known = estimable and row["value"] is not None and np.isfinite(se)
                row |= {"se": float(se) if known else None, "se_method": design.method}
                row |= {"df": design.df if estimable else None}
            rows += group_rows
    weight_name = study.persons["usual_weight_variable"][0]
    return [r | {"weight_variable": weight_name} for r in rows]
