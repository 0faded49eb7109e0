"""Summarise helper: a study's person-days -> usual-intake rows of `population_summary`.

The NCI amount-only model (`camg.population.usual_intake`, Tooze et al. 2006) is fitted once per DRI group
(sex x DRI age band x life stage), whose persons share one EAR and UL. Every other group (WWEIA
ages, 1+, 2+, 2-19, 20+, overall) takes the pseudo-persons of its members from those fits, pooled
with their weights, each compared with the EAR (UL) of its own DRI group: the usual-intake
distribution of a mixed group is the mixture of its parts, and the EAR cut-point method applies
each person's own requirement (IOM 2000, DRI: Applications in Dietary Assessment, ch. 4). Persons
whose DRI group could not be fitted are not represented; the note says how many.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from camg.population.groups import Group, Study
from camg.population.pooled import Cells, SortedPool
from camg.population.replicates import Replicates, replicate_design
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
    days: StudyDays, group: Group, members: pl.DataFrame, nutrient: str, c: ModelConstants
) -> GroupFit:
    """Fit one DRI group (`members`: its persons); pseudo-persons are keyed by their study row.

    `c.k`: pseudo-persons per person kept for the replicate refits (`camg.population.usual_se`).
    """
    mine = group.mask[days.row]
    ear, ul = group_value(members, f"{nutrient}_ear"), group_value(members, f"{nutrient}_ul")
    y, rows = days.intake[nutrient][mine], days.row[mine]
    day, w = days.day[mine], days.w[mine]
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
    )
    refit = None
    if fit.ok:
        keep = np.isfinite(y)
        args = (fit.boxcox_lambda, fit.zero_offset, c.seed, c.n_sim, c.k, ear[1], ul[1])
        refit = refit_inputs(y[keep], rows[keep], day[keep], w[keep], *args)
    return GroupFit(group, nutrient, fit, ear, ul, refit)


def pool_statistics(fits: list[GroupFit], cells: Cells) -> tuple[np.ndarray, np.ndarray]:
    """Groups x STATISTICS of the fitted groups' pseudo-persons, pooled; each group's weight total.

    Each pseudo-person is compared with the EAR (UL) of its own DRI group (NaN: none, not counted).
    One pool for every group (`camg.population.pooled`): a DRI group's pseudo-persons are its own
    fit's, a mixed group's those of its members' fits.
    """
    ok = [f for f in fits if f.fit.ok]
    out = np.full((cells.membership.shape[0], len(STATISTICS)), np.nan)
    if not ok:
        return out, np.zeros(out.shape[0])
    cell_of = [cells.person_cell[f.fit.usual_person] for f in ok]

    def sums(value: Callable[[GroupFit], np.ndarray | None]) -> np.ndarray:
        """Per group: the sum of `value` over the fits' pseudo-persons (None: a fit adds nothing)."""
        per_cell = np.zeros(cells.n_cells)
        for f, cell in zip(ok, cell_of, strict=True):
            v = value(f)
            if v is not None:
                per_cell += np.bincount(cell, v, minlength=cells.n_cells)
        return cells.membership.astype(float) @ per_cell

    total = sums(lambda f: f.fit.usual_weights)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, 0] = np.where(
            total > 0, sums(lambda f: f.fit.usual_weights * f.fit.usual) / total, np.nan
        )
    for col, kind, below in ((-2, 0, True), (-1, 1, False)):
        cut = {id(f): _value((f.ear, f.ul)[kind]) for f in ok}
        known = sums(lambda f, c=cut: f.fit.usual_weights if np.isfinite(c[id(f)]) else None)
        hits = sums(lambda f, c=cut, b=below: _hits(f, c[id(f)], b))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, col] = np.where(known > 0, 100 * hits / known, np.nan)
    pool = SortedPool.of(cells, *(np.concatenate(a) for a in (cell_of, *_pooled(ok))))
    out[:, 1 : 1 + len(PERCENTILES)] = pool.quantiles(np.array(PERCENTILES) / 100)
    return out, total


def _pooled(fits: list[GroupFit]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The fits' pseudo-persons' usual intakes and weights (to concatenate)."""
    return [f.fit.usual for f in fits], [f.fit.usual_weights for f in fits]


def _hits(fit: GroupFit, cut: float, below: bool) -> np.ndarray | None:
    """Weights of the fit's pseudo-persons below (above) the cut; None without a cut."""
    if not np.isfinite(cut):
        return None
    usual = fit.fit.usual
    return fit.fit.usual_weights * (usual < cut if below else usual > cut)


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
    for row in _rows(fit.group, fit.nutrient, stats, f.n_persons, f.usual_weights, note):
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
    weights = np.array([weight]) if parts else np.empty(0)
    stats = stats if parts else np.full(len(STATISTICS), np.nan)
    return _rows(group, fits[0].nutrient, stats, covered, weights, note)


def _rows(
    group: Group,
    nutrient: str,
    stats: np.ndarray,
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
            "value": _finite(stats[STATISTICS.index(statistic)]),
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
    members = [study.persons.filter(pl.Series(g.mask)) for g in dri]
    has_days = study.persons["person_id"].is_in(study.days["person_id"].implode()).to_numpy()
    eligible = has_days & (study.persons["usual_weight"].fill_null(0).to_numpy() > 0)
    made, fitted = {}, {}
    for nutrient in NUTRIENTS:
        fits = [
            fit_group(days, g, m, nutrient, constants) for g, m in zip(dri, members, strict=True)
        ]
        stats, weight = pool_statistics(fits, cells)
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
