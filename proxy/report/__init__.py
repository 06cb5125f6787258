"""The weekly delegation-health report: figures computed from the audit log, rendered as text, JSON or HTML.

:mod:`proxy.report.compute` is pure; :mod:`proxy.report.source` reads the log; :mod:`proxy.report.html`
imports matplotlib and is imported only when HTML is asked for.
"""

from __future__ import annotations

from proxy.report.compute import POLICY_DENY_REASONS, Report, ReportBuilder, compute

__all__ = ["POLICY_DENY_REASONS", "Report", "ReportBuilder", "compute"]
