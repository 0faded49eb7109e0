"""Report stage: published marts -> self-contained HTML reports (population, participant, team view)."""

from camg.report.build import build_reports, switch_reports
from camg.report.summary import ReportSummary

__all__ = ["ReportSummary", "build_reports", "switch_reports"]
