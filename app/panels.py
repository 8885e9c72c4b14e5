"""One graph panel (cytoscape + stats), shared by the Structure and Open-a-file pages.

`graph_panel` is the layout; `panel_outputs` and `expanded_after` are the plain functions behind
the callbacks: cache entry + expanded blocks -> elements, summary line and stats table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dash_cytoscape as cyto
from dash import Input, Output, State, ctx, dash_table, dcc, html

from app import figures, jobs
from rnnviz.structure import make_view, toggle

# No cyto.load_extra_layouts(): positions come from the server and the panels use `preset`,
# so the extra layout bundles would only add to every page load.


def graph_panel(title: str, graph_id: str, info_id: str, stats_id: str, height: int = 560) -> Any:
    """A titled cytoscape panel with its summary line and the report's key figures beside it."""
    return html.Div(
        className="panel",
        children=[
            html.H3(title),
            html.Div(
                className="panel-body",
                children=[
                    cyto.Cytoscape(
                        id=graph_id,
                        elements=[],
                        layout={"name": "preset", "fit": True, "padding": 12},
                        stylesheet=figures.STYLESHEET,
                        style={"height": f"{height}px", "width": "100%"},
                        minZoom=0.05,
                        maxZoom=3,
                    ),
                    html.Div(
                        className="stats",
                        children=dash_table.DataTable(
                            id=stats_id,
                            columns=[{"name": "", "id": "what"}, {"name": "", "id": "value"}],
                            data=[],
                            style_cell={
                                "textAlign": "left",
                                "fontSize": 12,
                                "whiteSpace": "normal",
                                "height": "auto",
                                "padding": "2px 4px",
                            },
                            style_header={"display": "none"},
                        ),
                    ),
                ],
            ),
            html.Div(id=info_id, className="view-info"),
        ],
    )


def panel_outputs(
    cache_dir: Path, key: str, which: str, expanded: list[str] | None
) -> tuple[list[dict[str, Any]], dict[str, Any], str, list[dict[str, str]]]:
    """(elements, layout, summary line, stats rows) of panel `which` of cache entry `key`."""
    part = jobs.load_partition(cache_dir, key, which)
    view = make_view(part, expanded or ())
    report = jobs.read_json(cache_dir, key, f"{which}.report.json")
    # A new layout object each time makes cytoscape re-run `preset` and fit the new elements;
    # after an expansion it fits the block just opened (its ops are unreadable at whole-graph zoom).
    layout: dict[str, Any] = {
        "name": "preset",
        "fit": True,
        "padding": 12,
        "animate": False,
        "n": view.n_elements,
    }
    focus = expanded[-1] if expanded and expanded[-1] in view.expanded else None
    if focus:
        layout["eles"] = f'node[id = "{focus}"], node[parent = "{focus}"]'
        layout["padding"] = 30
    return (
        figures.cyto_elements(view),
        layout,
        figures.view_summary(view),
        figures.panel_stats(report),
    )


def expanded_after(
    reset: bool, tap: dict[str, Any] | None, expanded: list[str] | None
) -> list[str]:
    """The expanded blocks after an event: a new graph (`reset`) collapses all; a click on a
    block toggles it, a click on an op or on '+k more' toggles the block it belongs to."""
    if reset:
        return []
    if not tap or "id" not in tap:
        return list(expanded or [])
    return toggle(expanded or [], str(tap["id"]))


def register_expand(app: Any, store_id: str, graph_id: str, source_id: str) -> None:
    """Wire clicks on `graph_id` to the expanded-blocks store; a new `source_id` resets it."""

    def update(_source: Any, tap: Any, expanded: Any) -> list[str]:
        return expanded_after(ctx.triggered_id == source_id, tap, expanded)

    app.callback(
        Output(store_id, "data"),
        Input(source_id, "data"),
        Input(graph_id, "tapNodeData"),
        State(store_id, "data"),
        prevent_initial_call=True,
    )(update)


def job_progress(progress_id: str, stage_id: str, *disable: str) -> dict[str, Any]:
    """`progress=` and `running=` of a background job callback: a progress bar and a stage line
    shown while it runs, and the controls `disable` disabled meanwhile."""
    return {
        "progress": [
            Output(progress_id, "value"),
            Output(progress_id, "max"),
            Output(stage_id, "children"),
        ],
        "progress_default": ["0", "1", "starting a job process..."],
        "running": [(Output(c, "disabled"), True, False) for c in disable]
        + [
            (Output(progress_id, "style"), {}, {"display": "none"}),
            (Output(stage_id, "style"), {}, {"display": "none"}),
        ],
    }


def report_graphs(
    prefix: str,
    reports: dict[str, dict[str, Any]],
    builds: dict[str, dict[str, Any]] | None = None,
) -> list[Any]:
    """The report's charts as a grid of dcc.Graph, for one report or a static/dynamic pair."""
    return [
        html.Div(dcc.Graph(id=f"{prefix}-{suffix}", figure=fig), className="chart")
        for suffix, fig in figures.report_charts(reports, builds)
    ]
