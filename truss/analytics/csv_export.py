"""The dashboard's numbers as CSV rows: one row per UTC day, one column per chart series (the
same numbers as the charts' tables). routes.py writes them with the csv module."""

from __future__ import annotations

from truss.analytics.dashboard import Dashboard


def csv_rows(dashboard: Dashboard) -> list[list[str]]:
    """The charts' numbers, one row per UTC day (the header names each chart and series)."""
    header = ["day (UTC)"]
    for chart in dashboard.charts:
        header += [f"{chart.title}: {s.name}" for s in chart.series]
    rows = [header]
    for i, day in enumerate(dashboard.views.days):
        row = [day]
        for chart in dashboard.charts:
            row += [_cell(s.values[i]) for s in chart.series]
        rows.append(row)
    return rows


def _cell(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.4f}"
