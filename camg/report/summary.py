"""What a report build made, as one line for people (`camg report`, the run's summary)."""

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ReportSummary:
    """What a build made: pages, and how many of them had to be written."""

    reports_dir: Path
    index_path: Path
    run_id: str
    n_studies: int
    n_participants: int
    n_files: int
    n_written: int
    is_switched: bool
    # Studies whose pages raised an unexpected error: (study_id, error); their pages are absent.
    failed_studies: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        """One line for people: what the reports hold and what this build changed."""
        change = "folder switched" if self.is_switched else "folder unchanged"
        failed = "; ".join(f"{study} ({error})" for study, error in self.failed_studies)
        return (
            f"reports of run {self.run_id} in {self.reports_dir}: {self.n_studies} studies, "
            f"{self.n_participants:,} participants, {self.n_files:,} pages "
            f"({self.n_written:,} written, {self.n_files - self.n_written:,} unchanged; {change}); "
            f"private index {self.index_path}"
            + (f"; reports NOT built for: {failed}" if failed else "")
        )
