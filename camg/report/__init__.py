"""Report stage: published marts -> self-contained HTML reports (population, participant, team view)."""

from camg.report.build import ReportSummary, build_reports, switch_reports

__all__ = ["ReportSummary", "build_reports", "switch_reports"]
