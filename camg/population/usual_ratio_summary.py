"""Summarise stage: person-days + persons + design -> the `usual_ratio` mart (usual Ca:Mg ratio by group).

The bivariate model (`camg.population.usual_ratio`, Zhang et al. 2011) is fitted per DRI group (sex x DRI age
band x life stage) on the person-days and two-day weights the univariate usual-intake rows use
(`camg.population.studies`: per survey cycle and for the cycles combined). Every other group of
`camg.population.person_groups` (WWEIA ages, 1+, 2+, 2-19, 20+, overall) pools its members'
pseudo-persons. Shares below / above the Ca:Mg bands are published only for groups wholly inside the
population the bands' sources studied (`nutrition.ratio.rule_population`: from 19 years today); the
distribution (mean, percentiles) for every fitted group. Replicate SEs as `usual_ratio_se` says.
Every constant comes from the rules table (`usual_ratio.*`, and the `usual.*` replicate rules).
"""

from dataclasses import dataclass

import numpy as np
import polars as pl

from camg.nutrition.ratio import ratio_bands, rule_population
from camg.ops.memory import release_freed_memory
from camg.population.groups import Group, Study, person_groups, studies
from camg.population.pooled import Cells
from camg.population.reliability import reliability_rules, with_intervals
from camg.population.replicates import Replicates, replicate_design
from camg.population.threads import each, in_order
from camg.population.usual_ratio import BivariateFit, draws, fit_bivariate, pseudo_person_ratios
from camg.population.usual_ratio_se import (
    STATISTICS,
    Bands,
    RatioPool,
    RatioRefit,
    ratio_ses,
)
from camg.reference import Reference
from schemas.population import UsualRatio

LOW, HIGH = "ratio.detrimental_low", "ratio.detrimental_high"
MODEL = "NCI multivariate model of Ca and Mg (Zhang et al. 2011)"


def constants(reference: Reference) -> dict[str, int]:
    """The model's constants from the rules table."""
    names = {
        "n_sim": "usual_ratio.pseudo_persons",
        "seed": "usual_ratio.seed",
        "min_repeat": "usual_ratio.min_repeat_persons",
        "nodes": "usual_ratio.quadrature_nodes",
        "k": "usual.replicate_pseudo_persons",
    }
    return {key: int(reference.threshold(rule)) for key, rule in names.items()}


def fit_group(study: Study, group: Group, min_repeat: int) -> BivariateFit:
    """One DRI group's fit; its persons are keyed by their row in `study.persons`."""
    rows = study.persons.select("person_id").with_row_index("row").filter(pl.Series(group.mask))
    days = study.days.filter(pl.col("usual_weight") > 0).join(rows, on="person_id")
    return fit_bivariate(
        days["calcium_mg"].to_numpy(),
        days["magnesium_mg"].to_numpy(),
        days["row"].to_numpy(),
        days["recall_day"].to_numpy(),
        days["usual_weight"].to_numpy(),
        min_repeat=min_repeat,
    )


def _note(group: Group, fit: BivariateFit | None, covered: int, eligible: int, k: int) -> str:
    """What a group's rows rest on: the fit (DRI group) or the fits pooled (other groups)."""
    if fit is not None and not fit.ok:
        return f"not fitted: {fit.reason}"
    if fit is not None:
        lam = ", ".join(f"{v:.2f}" for v in fit.lam)
        return (
            f"{MODEL}: {fit.n_persons} persons, {fit.n_repeat} with 2+ days, between-person "
            f"correlation {fit.comps.correlation:.2f}, Box-Cox lambdas (Ca, Mg) {lam}"
        )
    return (
        f"pooled pseudo-persons of {k} DRI-group fits ({MODEL}); {covered} of {eligible} "
        "persons represented" + ("" if covered == eligible else " (groups without a fit left out)")
    )


def _rows(group, stats, ses, n, weight, note, correlation, bands) -> list[dict]:
    """A group's mart rows; shares only where computed (the group is in the bands' population)."""
    rows = []
    for i, statistic in enumerate(STATISTICS):
        rule = {"pct_below": (LOW, bands.low), "pct_above": (HIGH, bands.high)}.get(statistic)
        if rule is not None and not np.isfinite(stats[i]):
            continue
        value, se = stats[i], ses[i]
        rows.append(
            group.labels
            | {
                "statistic": statistic,
                "threshold_rule_id": rule[0] if rule else None,
                "threshold_value": rule[1] if rule else None,
                "value": float(value) if np.isfinite(value) else None,
                "se": float(se) if np.isfinite(se) and np.isfinite(value) else None,
                "n_persons": n,
                "population_weighted": weight,
                "between_correlation": correlation,
                "note": note,
            }
        )
    return rows


def pseudo_persons(
    fits: list[BivariateFit], c: dict[str, int], pool: RatioPool, covered: np.ndarray
) -> list[RatioRefit]:
    """Each fit's `n_sim` pseudo-persons per person (seeded) into the pool; its first `k` draws kept.

    Fit by fit: a fit's pseudo-persons are freed before the next fit's are made (`RatioPool`).
    """

    def made(i: int) -> tuple[np.ndarray, ...]:
        fit = fits[i]
        z = draws(fit.n_persons, c["n_sim"], c["seed"])
        ratio = pseudo_person_ratios(fit.comps, fit.lam, z, c["nodes"])[2]
        weight = np.repeat(fit.person_w / c["n_sim"], c["n_sim"])
        person = np.repeat(fit.ids, c["n_sim"]).astype(np.intp)
        return z[:, : c["k"]].copy(), ratio, weight, person  # a copy, not a view of all of z

    refits = []  # the next fit's pseudo-persons are made on a second thread while these are pooled
    for fit, (z, ratio, weight, person) in zip(fits, in_order(made, len(fits)), strict=True):
        pool.add(pool.cells.person_cell[person], ratio, weight, covered[person])
        refits.append(RatioRefit(fit, fit.ids, z))
    return refits


def _design(study: Study, reference: Reference, seed: int) -> Replicates:
    """The study's replicate design, chosen as for the univariate usual-intake rows."""
    return replicate_design(
        study.strata,
        study.psu,
        study.persons.height,
        rho=reference.threshold("usual.brr_fay_coefficient"),
        srs_groups=int(reference.threshold("usual.srs_jackknife_groups")),
        seed=seed,
    )


def _eligible(study: Study) -> np.ndarray:
    """Persons with usable days and a positive usual-intake weight."""
    weighted = study.persons["usual_weight"].fill_null(0).to_numpy() > 0
    has_days = study.persons["person_id"].is_in(study.days["person_id"].implode()).to_numpy()
    return weighted & has_days


@dataclass(frozen=True, eq=False)
class RatioPoint:
    """One study's point estimates: the DRI-group fits, pseudo-persons and groups x STATISTICS."""

    fits: dict[int, BivariateFit]
    refits: list[RatioRefit]  # the fitted DRI groups' refits, for the replicate SEs
    has_pseudo: np.ndarray  # per person of the study: has pseudo-persons (in a fitted group)
    stats: np.ndarray
    weight: np.ndarray  # per group: its pseudo-persons' weight total
    covered: np.ndarray  # per person of the study: in the bands' population
    bands: Bands


def point_estimates(study: Study, groups: list[Group], reference: Reference) -> RatioPoint:
    """The fits and every group's statistics (apart from `replicate_ses`: timed apart)."""
    c = constants(reference)
    band_values = ratio_bands(reference)
    bands = Bands(band_values[LOW], band_values[HIGH])
    in_bands = rule_population(reference, LOW) & rule_population(reference, HIGH)
    covered = study.persons.select(in_bands.alias("c"))["c"].to_numpy()
    dri = [g for g in groups if g.grouping == "dri_age_group"]
    made = each(lambda i: fit_group(study, dri[i], c["min_repeat"]), len(dri))
    fits = {id(g): fit for g, fit in zip(dri, made, strict=True)}
    ok = [f for f in fits.values() if f.ok]
    pool = RatioPool(Cells.of([g.mask for g in groups], study.persons.height), bands)
    refits = pseudo_persons(ok, c, pool, covered)
    stats, weight = pool.statistics()
    has_pseudo = np.zeros(study.persons.height, bool)
    for f in ok:
        has_pseudo[f.ids] = c["n_sim"] > 0
    return RatioPoint(fits, refits, has_pseudo, stats, weight, covered, bands)


def replicate_ses(
    study: Study, groups: list[Group], point: RatioPoint, reference: Reference
) -> tuple[np.ndarray, Replicates]:
    """Groups x STATISTICS replicate SEs (NaN without a stratum of 2+ PSUs), and the design."""
    c = constants(reference)
    design = _design(study, reference, c["seed"])
    masks = [g.mask for g in groups]
    ses = ratio_ses(point.refits, masks, point.covered, point.bands, design, c["nodes"])
    if design.df < 1:  # without a stratum of two or more PSUs no replicate varies
        ses[:] = np.nan
    return ses, design


def study_rows(study: Study, groups: list[Group], reference: Reference) -> list[dict]:
    """Usual-ratio rows of every group of one study (or cycle), with replicate SEs."""
    point = point_estimates(study, groups, reference)
    ses, design = replicate_ses(study, groups, point, reference)
    eligible, has_pseudo = _eligible(study), point.has_pseudo
    rows = []
    for g, group in enumerate(groups):
        fit = point.fits.get(id(group))
        represented = int((group.mask & has_pseudo).sum())
        note = _note(group, fit, represented, int((group.mask & eligible).sum()), len(point.refits))
        correlation = fit.comps.correlation if fit is not None and fit.ok else None
        n = fit.n_persons if fit is not None else represented
        w_sum = float(point.weight[g]) if represented else None
        rows += _rows(group, point.stats[g], ses[g], n, w_sum, note, correlation, point.bands)
    extra = {"se_method": design.method, "df": design.df if design.df >= 1 else None}
    return [
        r | extra | {"weight_variable": study.persons["usual_weight_variable"][0]} for r in rows
    ]


def usual_ratio(
    days: pl.DataFrame,
    persons: pl.DataFrame,
    lost: pl.DataFrame,
    divisors: pl.DataFrame,
    reference: Reference,
) -> pl.DataFrame:
    """The `usual_ratio` mart: the usual Ca:Mg ratio's distribution by study, cycle and group."""
    rows: list[dict] = []
    for study in studies(days, persons, lost, divisors):
        base = {"study_id": study.study_id, "survey_cycle": study.survey_cycle}
        rows += [base | r for r in study_rows(study, list(person_groups(study.persons)), reference)]
    release_freed_memory()  # the pseudo-persons' arrays: polars (the food sources) cannot reuse them
    frame = with_intervals(pl.DataFrame(rows, schema=_schema()), reliability_rules(reference))
    frame = frame.with_columns(pl.lit(reference.rules_version).alias("rules_version"))
    order = ["study_id", "survey_cycle", "grouping", "sex", "age_months_min", "life_stage"]
    return UsualRatio.validate(
        frame.select(list(UsualRatio.to_schema().columns)).sort(order, maintain_order=True)
    )


def _schema() -> dict[str, type[pl.DataType]]:
    """Column types of the rows before intervals, marks and the rules version are added."""
    ints = {"n_persons", "age_months_min", "df"}
    floats = {"threshold_value", "value", "se", "population_weighted", "between_correlation"}
    later = {"ci_low", "ci_high", "reliability", "reliability_reason", "rules_version"}
    columns = [c for c in UsualRatio.to_schema().columns if c not in later]
    return {c: pl.Int64 if c in ints else pl.Float64 if c in floats else pl.String for c in columns}
