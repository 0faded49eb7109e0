"""Run outcome: after the marts are published -> reports built, or a failure that says so.

Once `current` names the new run, the marts are published whatever happens next. A report build
that then fails (a study whose figures cannot be drawn, two study folders whose names sanitise to
the same report folder, an empty report key) must not turn the run into "nothing was published":
the previous reports stay, and the run says exactly that.
"""

import logging
from pathlib import Path

from camg.report import ReportSummary, build_reports

LOG = logging.getLogger(__name__)


class ReportsNotBuiltError(Exception):
    """The marts were published, the reports were not rebuilt (the previous set stays)."""

    def __init__(self, published: Path, reports_dir: Path, reason: str) -> None:
        """The published marts, the reports folder left as it was, and why (picklable args)."""
        super().__init__(published, reports_dir, reason)
        self.published, self.reports_dir, self.reason = published, reports_dir, reason

    def __str__(self) -> str:
        """The message, not the tuple of arguments."""
        return self.message()

    def message(self) -> str:
        """One line: what was published and what was not."""
        return (
            f"marts published ({self.published}); reports NOT rebuilt, {self.reports_dir} still "
            f"holds the previous set ({self.reason}); `camg report` rebuilds them"
        )


def reports_after_publish(
    published: Path, reports_dir: Path, key_path: Path, reference_dir: Path | None = None
) -> ReportSummary:
    """Build the reports from the published marts; a failure names both outcomes.

    Any error of the build is caught here on purpose: the marts are already published, so the
    only honest outcome is ReportsNotBuiltError carrying that fact and the cause.
    """
    try:
        summary = build_reports(published, reports_dir, key_path, reference_dir)
    except Exception as exc:
        LOG.exception("reports not rebuilt after publishing %s", published)
        reason = f"{type(exc).__name__}: {exc}"
        raise ReportsNotBuiltError(published, reports_dir, reason) from exc
    if summary.failed_studies:  # the others' reports are built; the summary names these
        LOG.warning("%s", summary)
    return summary
