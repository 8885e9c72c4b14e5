"""One graph panel (cytoscape, toolbar, search, legend, details, stats), shared by the Structure
and Open-a-file pages.

`graph_panel` is the layout; `panel_outputs`, `expanded_after`, `search_after` and `details_of`
are the plain functions behind the callbacks. The camera (fit, zoom buttons, minimap, labels kept
>= 11 px on screen, tooltips, highlighting the neighbours of the selection, PNG/SVG export)
lives in the browser: app/assets/explorer.js, driven by the `data-*` attributes set here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import dash_cytoscape as cyto
from dash import Input, Output, State, ctx, dash_table, dcc, html, no_update

from app import figures, jobs
from rnnviz.structure import OPS, Facts, make_view, toggle
from rnnviz.structure.details import graph_at, op_details
from rnnviz.structure.view import find_ops

# No cyto.load_extra_layouts(): positions come from the server and the panels use `preset`,
# so the extra layout bundles would only add to every page load.

TOOLS = (
    ("fit", "Fit", "fit the whole graph in the panel"),
    ("zin", "+", "zoom in"),
    ("zout", "−", "zoom out"),
    ("reset", "Reset", "close every block and fit"),
    ("png", "PNG", "download the current view as PNG"),
    ("svg", "SVG", "download the current view as SVG"),
)


def sub_id(graph_id: str, what: str) -> str:
    """Ids of a panel's parts, derived from its graph id (explorer.js uses the same rule)."""
    return f"{graph_id}-{what}"


def _toolbar(graph_id: str) -> Any:
    buttons = [
        html.Button(
            text,
            id=sub_id(graph_id, act),
            title=tip,
            className="tool",
            n_clicks=0,
            **{"data-cy": graph_id, "data-act": act},
        )
        for act, text, tip in TOOLS
    ]
    search = dcc.Input(
        id=sub_id(graph_id, "search"),
        type="text",
        placeholder="search op or scope (regex), Enter",
        debounce=True,
        className="search",
    )
    return html.Div(
        className="toolbar",
        children=[*buttons, search, html.Span(id=sub_id(graph_id, "found"), className="found")],
    )


def _legend() -> Any:
    items = [
        html.Span(
            [
                html.Span(
                    className="swatch",
                    style={"background": colour, "borderStyle": border},
                ),
                words,
            ],
            className="legend-item",
        )
        for colour, border, words in figures.legend_items()
    ]
    return html.Details(
        [html.Summary("Legend"), html.Div(items, className="legend")],
        open=True,
        className="legend-box",
    )


HINT = "Click a block or an op to see what it is."


def graph_panel(
    title: str,
    graph_id: str,
    info_id: str,
    stats_id: str,
    height: int = 560,
    first: tuple | None = None,
) -> Any:
    """A titled cytoscape panel: toolbar and search, the graph with its minimap, the details of
    the selection and the report's key figures below, and the legend. `first`: what
    `panel_outputs` gives for the view shown at once (in the page itself, no callback)."""
    elements, layout, info, stats = first or (
        [],
        {"name": "preset", "fit": True, "padding": 12},
        "",
        [],
    )
    return html.Div(
        className="panel",
        children=[
            html.H3(title),
            _toolbar(graph_id),
            html.Div(
                className="graph-wrap",
                children=[
                    cyto.Cytoscape(
                        id=graph_id,
                        elements=elements,
                        layout=layout,
                        stylesheet=figures.STYLESHEET,
                        style={"height": f"{height}px", "width": "100%"},
                        minZoom=0.02,
                        maxZoom=4,
                        boxSelectionEnabled=False,
                    ),
                    html.Div(className="minimap", id=sub_id(graph_id, "mini")),
                    html.Div(id=sub_id(graph_id, "sel"), className="sel-marker"),
                ],
            ),
            html.Div(
                className="panel-foot",
                children=[
                    html.Div(
                        html.Div(HINT, className="hint"),
                        id=sub_id(graph_id, "details"),
                        className="details",
                    ),
                    html.Div(
                        className="stats",
                        children=dash_table.DataTable(
                            id=stats_id,
                            columns=[{"name": "", "id": "what"}, {"name": "", "id": "value"}],
                            data=stats,
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
            html.Div(info, id=info_id, className="view-info"),
            _legend(),
            dcc.Store(id=sub_id(graph_id, "selected"), data=None),
        ],
    )


def panel_outputs(
    cache_dir: Path,
    key: str,
    which: str,
    expanded: list[str] | None,
    focus: str | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any], str, list[dict[str, str]]]:
    """(elements, layout, summary line, stats rows) of panel `which` of cache entry `key`."""
    part = jobs.load_partition(cache_dir, key, which)
    report = jobs.read_json(cache_dir, key, f"{which}.report.json")
    view = make_view(part, expanded or (), focus=focus)  # its facts: from the partition
    # `fit` only for a new graph: after an expansion the camera stays where it is (the grid made
    # room for the block; explorer.js pans just enough to keep it in view).
    layout: dict[str, Any] = {
        "name": "preset",
        "fit": not expanded,
        "padding": 12,
        "animate": False,
        "graph": key,
        "n": view.n_elements,
        "open": len(expanded or ()),  # the page skips drawing the same collapsed view again
    }
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
    block goes one level deeper (cell view, ops, closed); a click inside a block selects only."""
    if reset:
        return []
    if not tap or "id" not in tap:
        return list(expanded or [])
    return toggle(expanded or [], str(tap["id"]), tap.get("kind"))


def search_after(
    cache_dir: Path, key: str, which: str, pattern: str, expanded: list[str] | None
) -> tuple[list[str], dict[str, Any] | None, str]:
    """(expanded, selected, message) after a search: the first hit's block opens on its ops."""
    part = jobs.load_partition(cache_dir, key, which)
    try:
        hits = find_ops(part, pattern)
    except re.error as exc:
        return list(expanded or []), None, f"not a regex: {exc}"
    if not hits:
        return list(expanded or []), None, f"no op matches {pattern!r}"
    name, op, block = hits[0]
    keep = [e for e in (expanded or []) if e.removesuffix(OPS) != block]
    more = f" (+{len(hits) - 1} more)" if len(hits) > 1 else ""
    return [*keep, block + OPS], {"name": name, "block": block}, f"{op} {name} in {block}{more}"


def _rows(pairs: list[tuple[str, str]]) -> list[Any]:
    return [html.Tr([html.Td(a), html.Td(b)]) for a, b in pairs]


def _node_data(
    part: Any, selected: dict[str, Any], expanded: list[str] | None, facts: Facts
) -> dict[str, Any]:
    """The data of a selected element known only by id (a selection restored from the URL)."""
    if not selected.get("id"):
        return {}
    view = make_view(part, expanded or (), facts=facts)
    return next((dict(n) for n in view.nodes if n["id"] == selected["id"]), {})


def details_of(
    cache_dir: Path,
    key: str,
    which: str,
    selected: dict[str, Any] | None,
    expanded: list[str] | None = None,
) -> Any:
    """The side panel for the selected element: a block's place and weights, or an op's type,
    attributes, input/output shapes and the weights it reads."""
    if not selected:
        return html.Div(HINT, className="hint")
    part = jobs.load_partition(cache_dir, key, which)
    facts = Facts.of(part)  # the analysis' facts the partition carries (no report read)
    data = selected.get("data") or _node_data(part, selected, expanded, facts)
    names = [selected["name"]] if selected.get("name") else list(data.get("ops") or [])
    head = [html.B(data.get("label", selected.get("name", "")).replace("\n", " · "))]
    if data.get("layer") is not None:
        head.append(
            html.Div(f"layer {data['layer']}, {data.get('direction')}, step {data.get('step')}")
        )
    if data.get("kind") in ("step", "role", "loop"):
        shown = ("collapsed", "cell / loop view", "ops")[int(data.get("level") or 0)]
        head.append(html.Div(f"{data.get('kind')} block, {data.get('n_ops', '?')} ops; {shown}"))
        layer = data.get("layer")
        if layer is not None:
            ws = facts.weights.get((layer, data.get("direction") or "fw"), [])
            head.append(html.Div("weights: " + (", ".join(w["name"] for w in ws) or "-")))
    if data.get("tip") and data.get("kind") not in ("step", "role", "loop"):
        head.append(html.Pre(data["tip"], className="eq"))
    if data.get("weights"):
        head.append(html.Div("reads " + ", ".join(data["weights"])))
    graphs = graph_at(jobs.entry_dir(cache_dir, key) / f"{which}.pb")
    if graphs is None and names and which != "file":
        head.append(html.Div("op details: the graph is still being built; click again soon"))
    function = _function_of(cache_dir, key, which, data.get("block") or selected.get("block"))
    for name in names[:3]:
        info = op_details(graphs, name, function) if graphs else None
        if info is None:
            continue
        head.append(html.Hr())
        head.append(html.Div([html.B(info["op"]), " ", info["name"]]))
        table = [("output shape", info["output_shape"])]
        table += [(f"input {k}", f"{n} {s}") for k, (n, s) in enumerate(info["inputs"])]
        table += [("weight read", w) for w in info["weights"]]
        table += [(k, v) for k, v in info["attrs"].items()]
        table += [("feeds", f"{op} {n}") for n, op in info["consumers"]]
        head.append(html.Table(_rows(table), className="attrs"))
    return html.Div(head)


def _function_of(cache_dir: Path, key: str, which: str, block: str | None) -> str | None:
    """The body function of a v2 loop block (its ops live there, not in the main graph)."""
    if not block or not block.startswith("loop/"):
        return None
    part = jobs.load_partition(cache_dir, key, which)
    b = part.blocks.get(block)
    return b.detail or None if b is not None and block in part.bodies else None


def _matches(initial: dict[str, Any] | None, source: dict[str, Any] | None) -> bool:
    """Whether the URL's state was written for this build (same spec and T, or same file)."""
    if not initial or not initial.get("match") or not source:
        return False
    return all(source.get(k) == v for k, v in initial["match"].items())


def _trigger(graph_id: str, source_id: str, source: Any, tap: Any, drawn: Any) -> Any:
    """What a panel's click/search callback answers to. A click on a panel drawn while its build
    was still running (from the build's partial results) reaches the server only once the build
    is done, together with the build's key (Dash holds back a callback whose input a running job
    will set): when the panel shows that very entry, the click is what counts, not a new build
    to reset to."""
    fired = set(ctx.triggered_prop_ids.values())
    same_entry = (
        isinstance(drawn, dict)
        and isinstance(source, dict)
        and drawn.get("graph") == source.get("key")
    )
    if {graph_id, source_id} <= fired and tap and same_entry:
        return graph_id
    return ctx.triggered_id


def register_expand(
    app: Any,
    store_id: str,
    graph_id: str,
    source_id: str,
    which: str | None = None,
    initial_id: str | None = None,
) -> None:
    """Wire a panel: clicks and searches on `graph_id` update its expanded-blocks store and its
    selection; a new `source_id` (cache entry) resets both, or takes them from `initial_id` (a
    store: panel -> `app.urlstate.initial_for`, read from the URL) when it names this entry.
    `which` is the panel's graph in the cache entry ("static", "dynamic"; "file" by default)."""
    from app.jobs import settings

    which_of = (lambda source: which) if which else (lambda source: "file")
    selected_id = sub_id(graph_id, "selected")
    states = [State(store_id, "data"), State(source_id, "data"), State(graph_id, "layout")]
    inputs = [
        Input(source_id, "data"),
        Input(graph_id, "tapNodeData"),
        Input(sub_id(graph_id, "search"), "value"),
        Input(sub_id(graph_id, "reset"), "n_clicks"),
    ]
    if initial_id:
        inputs.append(Input(initial_id, "data"))

    def update(source: Any, tap: Any, pattern: Any, _reset: Any, *rest: Any):
        *url_state, expanded, _source, drawn = rest
        trigger = _trigger(graph_id, source_id, source, tap, drawn)
        init = (url_state[0] or {}).get(which or "file") if url_state else None
        restore = init or {}
        if trigger == initial_id and not restore.get("expand") and not restore.get("select"):
            # Nothing to restore: the page's stores already hold the collapsed view (no update,
            # so the first view is not drawn twice).
            return no_update, no_update, no_update
        if trigger in (source_id, initial_id) and _matches(init, source):
            # The build the URL names (whichever arrives first, the URL or the build).
            return init.get("expand") or [], init.get("select"), ""
        if trigger == initial_id:
            return no_update, no_update, no_update
        if trigger == source_id or trigger == sub_id(graph_id, "reset"):
            return [], None, ""
        if trigger == sub_id(graph_id, "search"):
            if not pattern or not source:
                return no_update, no_update, ""
            return search_after(
                settings().cache_dir, source["key"], which_of(source), pattern, expanded
            )
        if not tap:
            return no_update, no_update, no_update
        selected = {"id": tap["id"], "data": tap}
        return expanded_after(False, tap, expanded), selected, no_update

    app.callback(
        Output(store_id, "data"),
        Output(selected_id, "data"),
        Output(sub_id(graph_id, "found"), "children"),
        *inputs,
        *states,
        prevent_initial_call=True,
    )(update)

    def show(selected: Any, source: Any, expanded: Any) -> tuple[Any, str]:
        if not source:
            return details_of(settings().cache_dir, "", "", None), ""
        cache = settings().cache_dir
        body = details_of(cache, source["key"], which_of(source), selected, expanded)
        return body, (selected or {}).get("id") or (selected or {}).get("name") or ""

    app.callback(
        Output(sub_id(graph_id, "details"), "children"),
        Output(sub_id(graph_id, "sel"), "children"),
        Input(selected_id, "data"),
        State(source_id, "data"),
        State(store_id, "data"),
        prevent_initial_call=True,  # the layout holds the hint
    )(show)


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
