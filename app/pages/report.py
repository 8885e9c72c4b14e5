"""Report page: `compare(static, dynamic)` of the spec and T chosen on the Structure page.

Tables and bar charts: ops by role and type, parameters by layer and gate, per-step states,
GraphDef/SavedModel bytes, build time, FLOPs, peak step memory. Everything comes from the cache
entry the Structure page's build wrote (reports are computed in the build job, not here).
"""

from __future__ import annotations

from typing import Any

from dash import Input, Output, dash_table, html

from app import figures, ids, jobs, panels
from app.jobs import settings

KEY = "report"
PATH = "/report"
TITLE = "Report"


def layout(cfg: Any) -> Any:
    return html.Div(
        [
            html.H2(id=ids.REPORT_TITLE, children="Report"),
            dash_table.DataTable(
                id=ids.REPORT_SUMMARY,
                columns=[{"name": c, "id": c} for c in ("figure", "static", "dynamic", "ratio")],
                data=[],
                style_cell={"textAlign": "left", "fontSize": 13},
                style_table={"maxWidth": "900px"},
            ),
            html.Div(id=ids.REPORT_CHARTS, className="charts"),
        ]
    )


def report_page(build: dict[str, Any] | None) -> tuple[str, list[dict[str, str]], list[Any]]:
    """(title, comparison rows, charts) of the built pair in the store."""
    if not build:
        return "Report: waiting for the Structure page's build", [], []
    cache = settings().cache_dir
    key = build["key"]
    meta = jobs.read_meta(cache, key) or {}
    reports = {which: jobs.read_json(cache, key, f"{which}.report.json") for which in jobs.UNROLLS}
    builds = {w: meta.get(w, {}) for w in jobs.UNROLLS}
    comparison = jobs.read_json(cache, key, "compare.json")
    title = f"Report: {build['spec']} at T={build['steps']}, static vs dynamic"
    return (
        title,
        figures.compare_table(comparison, builds),
        panels.report_graphs("report", reports, builds),
    )


def register(app: Any) -> None:
    app.callback(
        Output(ids.REPORT_TITLE, "children"),
        Output(ids.REPORT_SUMMARY, "data"),
        Output(ids.REPORT_CHARTS, "children"),
        Input(ids.BUILD_KEY, "data"),
    )(report_page)
