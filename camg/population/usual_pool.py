"""Summarise helper: the DRI-group fits' pseudo-persons -> every group's usual-intake point figures.

A study's usual-intake pool is its DRI-group fits' pseudo-persons: 100 per person (`usual.*`
rules), ~5.7 M values per nutrient in a 57,000-person study. Every group's figures come from
sums per cell and each cell's sorted values (`camg.population.pooled`), and a cell lies in one DRI
group, so the pool is filled one fit at a time and each fit's pseudo-persons are freed before the
next fit is made: the usual point estimates of a study held ~480 MB at once when all fits were made
first and then concatenated (benchmarks/population_stage.py), most of the run's peak memory.

Each pseudo-person is compared with the EAR (UL) of its own DRI group (NaN: none, not counted). The
figures are those of the whole pool at once, bit for bit: a cell's sums add its members in the
same order, and the other fits add exact zeros.
"""

import numpy as np

from camg.population.pooled import Cells, SortedPool
from camg.population.usual_intake import PERCENTILES

# Per cell: weight, weighted usual intake, weight with a known EAR, below it, known UL, above it.
SUMS = 6


class PointPool:
    """The pool of a study's DRI-group fits of one nutrient, filled by `add`, read by `statistics`."""

    def __init__(self, cells: Cells) -> None:
        """An empty pool over the study's cells."""
        self.cells = cells
        self.sums = np.zeros((SUMS, cells.n_cells))
        self.sorted = SortedPool.empty(cells)
        self.added = False

    def add(self, person: np.ndarray, usual, weights, cuts: tuple[float, float]) -> None:
        """One fit's pseudo-persons: their persons' study rows, usual intakes, weights; its EAR, UL."""
        cell = self.cells.person_cell[person]
        n = self.cells.n_cells
        total = np.bincount(cell, weights, minlength=n)
        self.sums[0] += total
        self.sums[1] += np.bincount(cell, weights * usual, minlength=n)
        for i, (cut, below) in enumerate(zip(cuts, (True, False), strict=True)):
            if np.isfinite(cut):
                hit = usual < cut if below else usual > cut
                self.sums[2 + 2 * i] += total
                self.sums[3 + 2 * i] += np.bincount(cell, weights * hit, minlength=n)
        self.sorted.add(cell, usual, weights)
        self.added = True

    def statistics(self, n_statistics: int) -> tuple[np.ndarray, np.ndarray]:
        """Groups x statistics (mean, PERCENTILES, % below the EAR, % above the UL); weight totals."""
        member = self.cells.membership
        out = np.full((member.shape[0], n_statistics), np.nan)
        if not self.added:
            return out, np.zeros(out.shape[0])
        total, weighted, known_ear, below, known_ul, above = (
            member.astype(float) @ per_cell for per_cell in self.sums
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, 0] = np.where(total > 0, weighted / total, np.nan)
            out[:, -2] = np.where(known_ear > 0, 100 * below / known_ear, np.nan)
            out[:, -1] = np.where(known_ul > 0, 100 * above / known_ul, np.nan)
        out[:, 1 : 1 + len(PERCENTILES)] = self.sorted.quantiles(np.array(PERCENTILES) / 100)
        return out, total
