"""Unit tests: the population stage's units on two threads (`camg.population.threads`) give the
floats of one thread: results by index whatever the order units end in, the caller's numpy errstate
in every unit, and the replicate SEs identical with one and two threads."""

import threading

import numpy as np
import pytest

from camg.assess.intakes import assess_persons
from camg.population import threads
from camg.population.pooled import Cells
from camg.population.replicates import replicate_design
from camg.population.summarise import population_summary
from camg.population.threads import each, in_order
from camg.population.usual_ratio import draws, fit_bivariate
from camg.population.usual_ratio_se import Bands, RatioRefit, ratio_ses
from camg.population.usual_ratio_summary import usual_ratio
from camg.population.usual_refit import Refit
from camg.population.usual_se import replicate_ses
from tests.unit.test_summarise import NO_LOST, ONE, participants, person_days
from tests.unit.test_usual_ratio import HIGH, LOW, simulated

WAIT = 120  # seconds a unit waits for its partner: generous, the machine is shared (not timed)


def pairs_ending_backwards(n: int, ended: list[int]):
    """Unit i (even) ends only after unit i + 1 has: on two threads, each pair ends backwards."""
    done = [threading.Event() for _ in range(n)]

    def work(i: int) -> float:
        if i % 2 == 0 and i + 1 < n:
            assert done[i + 1].wait(WAIT), "the units did not run on two threads"
        ended.append(i)
        done[i].set()
        return float(i) ** 2 + 0.5

    return work


def test_each_puts_every_result_at_its_index_though_units_end_out_of_order():
    ended: list[int] = []
    found = each(pairs_ending_backwards(6, ended), 6, threads=2)
    assert ended != sorted(ended)  # the units did end out of order
    assert found == [float(i) ** 2 + 0.5 for i in range(6)]


def test_each_on_one_thread_is_the_plain_loop():
    assert each(lambda i: 10 * i, 4, threads=1) == [0, 10, 20, 30]
    assert each(lambda i: i, 0) == []


def test_in_order_yields_by_index_and_starts_a_unit_only_when_one_is_used():
    log: list[str] = []
    ending = pairs_ending_backwards(6, [])

    def work(i: int) -> float:
        log.append(f"start {i}")
        return ending(i)

    found = []
    for value in in_order(work, 6, threads=2):
        found.append(value)
        log.append(f"used {len(found) - 1}")
    assert found == [float(i) ** 2 + 0.5 for i in range(6)]
    for i in range(2, 6):  # two results alive at most: unit i waits until unit i - 2 was used
        assert log.index(f"start {i}") > log.index(f"used {i - 2}")


def test_a_unit_follows_the_callers_errstate():
    zero = np.zeros(3)
    with np.errstate(divide="ignore"):  # warnings are errors here: a unit must ignore as asked
        found = each(lambda i: np.log(zero)[0], 4, threads=2)
    assert found == [-np.inf] * 4
    with np.errstate(divide="raise"), pytest.raises(FloatingPointError):
        each(lambda i: np.log(zero), 4, threads=2)


def test_a_failing_unit_fails_the_call():
    def work(i: int) -> int:
        if i == 3:
            raise ValueError("unit 3")
        return i

    with pytest.raises(ValueError, match="unit 3"):
        each(work, 8, threads=2)


def both_ways(monkeypatch, compute):
    """`compute()` with one thread and with two (`threads.THREADS`)."""
    monkeypatch.setattr(threads, "THREADS", 1)
    one = compute()
    monkeypatch.setattr(threads, "THREADS", 2)
    return one, compute()


def test_usual_intake_replicate_ses_are_the_same_floats_on_two_threads(monkeypatch):
    # Three DRI groups of 60 persons (2 recalls, 10 draws each), groups across them, BRR design.
    rng = np.random.default_rng(5)
    persons, k = 180, 10
    pid, day = np.repeat(np.arange(60), 2), np.tile([1, 2], 60)
    fits = []
    for g, (ear, ul) in enumerate([(300.0, 600.0), (800.0, float("nan")), (500.0, 2500.0)]):
        t = rng.normal(6 + 0.3 * g, 0.4, pid.size) + rng.normal(0, 0.5, 60)[pid]
        rows = np.arange(60) + 60 * g
        z = rng.standard_normal((60, k))
        fits.append(Refit(t, pid, day, rng.uniform(0.5, 3, 60), rows, 0.2, z, ear, ul))
    masks = [np.arange(persons) // 60 == g for g in range(3)]
    masks += [np.arange(persons) % 2 == 0, np.arange(persons) < 100, np.ones(persons, bool)]
    strata = np.arange(persons) % 6
    design = replicate_design(
        strata, (np.arange(persons) // 6) % 2, persons, rho=0.3, srs_groups=30, seed=1
    )
    one, two = both_ways(monkeypatch, lambda: replicate_ses(fits, masks, design, persons))
    assert design.n_replicates >= 8
    assert np.isfinite(one[:, 0]).all()
    assert np.array_equal(one, two, equal_nan=True)


def test_usual_ratio_replicate_ses_are_the_same_floats_on_two_threads(monkeypatch):
    ca, mg, person, day, w = simulated(360, seed=4)
    dri = np.arange(360) % 3
    refits = []
    for g in range(3):
        mine = (dri == g)[person]
        fit = fit_bivariate(ca[mine], mg[mine], person[mine], day[mine], w[mine], min_repeat=10)
        refits.append(RatioRefit(fit, fit.ids, draws(fit.n_persons, 10, 7)))
    rows = np.arange(360)
    design = replicate_design(rows % 4, (rows // 4) % 2, 360, rho=0.3, srs_groups=30, seed=1)
    masks = [dri == g for g in range(3)] + [rows < 200, rows % 2 == 0, np.ones(360, bool)]
    covered, bands = rows >= 20, Bands(LOW, HIGH)
    one, two = both_ways(monkeypatch, lambda: ratio_ses(refits, masks, covered, bands, design, 9))
    assert np.isfinite(one[:, 0]).all()
    assert np.array_equal(one, two, equal_nan=True)
    assert Cells.of(masks, 360).n_cells > 3


def test_the_population_marts_are_the_same_on_one_and_two_threads(monkeypatch, reference):
    # 480 persons in 6 DRI groups (sex x 3 ages), a 4-stratum 2-PSU design, two days each: every
    # threaded part runs (single-day groups, usual fits and SEs, ratio fits, pseudo-persons, SEs).
    rng = np.random.default_rng(3)
    people = participants(
        [
            (
                f"p{i:03d}",
                ("male", "female")[i % 2],
                (10, 40, 60)[i % 3],
                1.0 + i % 5,
                2.0,
                i % 4,
                i // 4 % 2,
            )
            for i in range(480)
        ]
    )
    usual = 900 * np.exp(rng.normal(0, 0.3, 480))
    rows = [
        (
            f"p{i:03d}",
            day,
            float(usual[i] * np.exp(rng.normal(0, 0.4))),
            float(300 * np.exp(rng.normal(0, 0.3))),
        )
        for i in range(480)
        for day in (1, 2)
    ]
    days = person_days(rows)
    persons = assess_persons(days, people, reference)

    def marts():
        return [
            mart(days, persons, NO_LOST, ONE, reference)
            for mart in (population_summary, usual_ratio)
        ]

    one, two = both_ways(monkeypatch, marts)
    for a, b in zip(one, two, strict=True):
        assert a["se"].is_not_null().sum() > 100
        assert a.equals(b)
