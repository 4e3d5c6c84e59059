"""Monitoring: `PipelineMonitoring` (construct.py) builds the dashboard, alarms, alarm topic and
saved queries from the standard alarms per resource (resource_alarms.py), the business metric
charts and watches (business.py), the log queries (log_insights.py) and the runbook links
(runbook.py)."""

from __future__ import annotations

from infra.constructs.monitoring.construct import PipelineMonitoring
from infra.constructs.monitoring.runbook import runbook_anchor

__all__ = ["PipelineMonitoring", "runbook_anchor"]
