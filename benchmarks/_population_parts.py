"""The parts of the population stage, each split into untimed set-up and timed work.

`PARTS[name](data, reference)` does what the part needs first (e.g. the usual-intake fits before
their replicate SEs) and returns the part's work: a callable that returns how many rows it made.
`stage` is the whole stage as `camg.pipeline.studies.one_study` calls it.
"""

from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from camg.population import summarise, usual_ratio_summary, usual_summary
from camg.population.food_sources import food_sources
from camg.population.groups import person_groups, studies
from camg.reference import Reference

Work = Callable[[], int]


def _studies(data: dict[str, pl.DataFrame]) -> list:
    """The study (and cycle) frames of the stage, with their groups."""
    found = studies(data["days"], data["persons"], data["lost"], data["divisors"])
    return [(s, list(person_groups(s.persons))) for s in found]


def summary(data: dict[str, pl.DataFrame], reference: Reference) -> Work:
    """Single-day rows of population_summary (survey means, percentiles, prevalences)."""
    from camg.population.taylor import TaylorDesign  # here: the stage part runs older code too

    def work() -> int:
        rows = 0
        for s, groups in _studies(data):
            design = TaylorDesign.of(s.strata, s.psu, s.persons.height, s.df)
            if hasattr(summarise, "groups_single_day_rows"):  # groups on two threads
                columns = summarise.StudyColumns.of(s.persons, reference)
                rows += len(summarise.groups_single_day_rows(s, groups, design, columns))
            elif hasattr(summarise, "StudyColumns"):
                columns = summarise.StudyColumns.of(s.persons, reference)
                rows += sum(len(summarise.single_day_rows(s, g, design, columns)) for g in groups)
            else:  # the code before StudyColumns (side-by-side runs of older code)
                old = {name: summarise._column(s.persons, name) for name in summarise.NUMERIC}
                made = (summarise.single_day_rows(s, g, reference, design, old) for g in groups)
                rows += sum(len(r) for r in made)
        return rows

    return work


def usual(data: dict[str, pl.DataFrame], reference: Reference) -> Work:
    """Usual-intake point estimates of population_summary."""
    found = _studies(data)

    def work() -> int:
        made = [usual_summary.usual_point_rows(s, g, reference)[0] for s, g in found]
        return sum(len(rows) for per in made for groups in per.values() for rows in groups)

    return work


def usual_se(data: dict[str, pl.DataFrame], reference: Reference) -> Work:
    """Usual-intake replicate SEs of population_summary (the fits made first, untimed)."""
    found = _studies(data)
    points = [(s, g, usual_summary.usual_point_rows(s, g, reference)[1]) for s, g in found]

    def work() -> int:
        ses = [usual_summary.usual_ses(s, g, fits, reference) for s, g, fits in points]
        return sum(int(np.isfinite(a).sum()) for per_study in ses for a in per_study.values())

    return work


def ratio(data: dict[str, pl.DataFrame], reference: Reference) -> Work:
    """usual_ratio point estimates (bivariate fits, pseudo-persons, group statistics)."""
    found = _studies(data)
    return lambda: sum(
        usual_ratio_summary.point_estimates(s, g, reference).stats.size for s, g in found
    )


def ratio_se(data: dict[str, pl.DataFrame], reference: Reference) -> Work:
    """usual_ratio replicate SEs (the fits made first, untimed)."""
    found = _studies(data)
    points = [(s, g, usual_ratio_summary.point_estimates(s, g, reference)) for s, g in found]

    def work() -> int:
        out = [usual_ratio_summary.replicate_ses(s, g, p, reference)[0] for s, g, p in points]
        return sum(int(np.isfinite(a).sum()) for a in out)

    return work


def sources(data: dict[str, pl.DataFrame], reference: Reference) -> Work:
    """The food_sources mart."""
    keys = ("days", "persons", "lost", "divisors")
    return lambda: food_sources(data["items"], *(data[k] for k in keys), reference).height


def stage(data: dict[str, pl.DataFrame], reference: Reference, save: Path | None = None) -> Work:
    """The whole stage: population_summary, usual_ratio, food_sources (written to `save`, if given)."""
    keys = ("days", "persons", "lost", "divisors")
    held = [data.pop("items")]  # as one_study: food_sources gets the items unnamed and frees them

    def work() -> int:
        args = [data[k] for k in keys]
        marts = {
            "summary": summarise.population_summary(*args, reference),
            "ratio": usual_ratio_summary.usual_ratio(*args, reference),
            "sources": food_sources(held.pop(), *args, reference),
        }
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
            for name, frame in marts.items():
                frame.write_parquet(save / f"{name}.parquet")
        return sum(frame.height for frame in marts.values())

    return work


def differences(before: Path, after: Path) -> dict[str, float]:
    """Per mart written by `stage`: the largest relative difference of a float column (0 = equal).

    Non-float columns must be equal (else inf); nulls must sit in the same places.
    """
    out = {}
    for name in ("summary", "ratio", "sources"):
        a, b = (pl.read_parquet(p / f"{name}.parquet") for p in (before, after))
        if a.columns != b.columns or a.height != b.height:
            out[name] = float("inf")
            continue
        worst = 0.0
        for column in a.columns:
            x, y = a[column], b[column]
            if x.dtype != pl.Float64:
                worst = worst if x.equals(y) else float("inf")
                continue
            if not (x.is_null() == y.is_null()).all():
                worst = float("inf")
                continue
            u, v = x.drop_nulls().to_numpy(), y.drop_nulls().to_numpy()
            scale = np.maximum(np.abs(u), np.abs(v))
            diff = np.abs(u - v) / np.where(scale > 0, scale, 1.0)
            worst = max(worst, float(np.nanmax(diff, initial=0.0)))
        out[name] = worst
    return out


PARTS: dict[str, Callable[[dict[str, pl.DataFrame], Reference], Work]] = {
    "summary": summary,
    "usual": usual,
    "usual_se": usual_se,
    "ratio": ratio,
    "ratio_se": ratio_se,
    "sources": sources,
    "stage": stage,
}
