"""Structure page: the unrolled (static) and the while-loop (dynamic) graph of one spec, side by side.

Choosing a spec or T starts a background build of both graphs (a subprocess; cached on disk by
spec and T); each panel then draws its collapsed block view and the report's key figures. Clicking
a block opens its cell (or loop) view, a second click its ops, a third closes it; clicking
anything inside a block shows its details. The page's state (spec, T, open blocks, selection)
lives in the URL (app/urlstate.py), so a reload or a shared link shows the same view.
"""

from __future__ import annotations

import os
from typing import Any

import plotly.graph_objects as go
from dash import Input, Output, State, ctx, dcc, html, no_update

from app import ids, jobs, panels, urlstate, validate
from app.jobs import Settings, settings
from rnnviz.errors import RnnvizError
from rnnviz.spec import load_spec, sample_names

KEY = "structure"
PATH = "/"
TITLE = "Structure"
# What the page builds on first load; the environment can pick a smaller one (the browser tests).
DEFAULT_SPEC = os.environ.get("RNNVIZ_DEFAULT_SPEC", "multi_static_lstm")
DEFAULT_STEPS = int(os.environ.get("RNNVIZ_DEFAULT_STEPS", "28"))
STEP_MARKS = (1, 8, 16, 28, 56, 100, 200, 400, 784)


def spec_options() -> list[dict[str, str]]:
    out = []
    for name in sample_names():
        out.append({"label": f"{name}: {load_spec(name).description}", "value": name})
    return out


def first_view(cfg: Settings) -> dict[str, Any] | None:
    """The default spec's view when its build is in the cache (from the server's prebuild or
    shipped with the package), for the layout itself: the page then shows it with no callback.
    None when it is not there yet (the page asks for the build as before)."""
    steps = min(DEFAULT_STEPS, cfg.max_steps)
    cached = cached_build(DEFAULT_SPEC, steps)
    if cached is None:
        return None
    data, status = cached
    try:
        views = {
            w: panels.panel_outputs(cfg.cache_dir, data["key"], w, [])
            for w in ("static", "dynamic")
        }
    except (RnnvizError, OSError, ValueError):  # an entry being replaced: ask as before
        return None
    return {"build": data, "status": status, "views": views}


def slider_marks(max_steps: int, min_gap: float = 0.06) -> dict[int, str]:
    """The T slider's marks: the round values up to the cap and the cap itself, leaving out a mark
    that would sit closer than `min_gap` of the slider's width to the one kept before it (with the
    cap at 784, 1, 8, 16 and 28 drew on top of each other)."""
    kept: list[int] = []
    for m in sorted({*(m for m in STEP_MARKS if m < max_steps), max_steps}, reverse=True):
        if not kept or (kept[-1] - m) / max(max_steps - 1, 1) >= min_gap:
            kept.append(m)
    if 1 not in kept and max_steps > 1:
        kept[-1] = 1  # the left end is always named: swap it for the mark nearest to it
    return {m: str(m) for m in sorted(kept)}


def layout(cfg: Settings) -> Any:
    first = first_view(cfg)
    marks = slider_marks(cfg.max_steps)
    return html.Div(
        [
            html.Div(
                className="controls",
                children=[
                    html.Label("Model spec"),
                    dcc.Dropdown(
                        id=ids.SPEC,
                        options=spec_options(),
                        value=DEFAULT_SPEC,
                        clearable=False,
                        style={"minWidth": "420px", "maxWidth": "640px", "flex": "1 1 420px"},
                    ),
                    html.Label("Time steps T"),
                    html.Div(
                        dcc.Slider(
                            id=ids.STEPS,
                            min=1,
                            max=cfg.max_steps,
                            step=1,
                            value=min(DEFAULT_STEPS, cfg.max_steps),
                            marks=marks,
                            updatemode="mouseup",
                            tooltip={"placement": "bottom"},
                            # Dash 4 adds a number box of its own; ours (below) checks the
                            # value and says why a T was kept, and two boxes wrapped the row.
                            allow_direct_input=False,
                        ),
                        style={"width": "460px"},
                    ),
                    *steps_box(cfg),
                ],
            ),
            html.Div(
                className="build-row",
                children=[
                    html.Progress(id=ids.BUILD_PROGRESS, value="0", max="5"),
                    html.Span(id=ids.BUILD_STAGE, className="stage"),
                    html.Button("Cancel", id=ids.BUILD_CANCEL, style={"display": "none"}),
                    html.Span(first and first["status"], id=ids.BUILD_STATUS, className="status"),
                ],
            ),
            dcc.Store(id=ids.BUILD_KEY, data=first and first["build"]),
            dcc.Location(id=ids.STATE_URL, refresh=False),
            dcc.Store(id=ids.URL_STATE, data={}),
            dcc.Store(id=ids.BUILD_REQUEST),
            dcc.Store(id=ids.BUILD_PARTIAL),
            # What the layout shows counts as asked: the page does not ask for it again.
            dcc.Store(
                id=ids.BUILD_ASKED,
                data=first and {k: first["build"][k] for k in ("spec", "steps")},
            ),
            dcc.Store(id=ids.EXPANDED["static"], data=[]),
            dcc.Store(id=ids.EXPANDED["dynamic"], data=[]),
            dcc.Store(id=ids.GROWTH + "-history", data=[], storage_type="session"),
            html.Div(
                className="panels",
                children=[
                    panels.graph_panel(
                        "Unrolled: static_rnn",
                        ids.GRAPH["static"],
                        ids.VIEW_INFO["static"],
                        ids.STATS["static"],
                        first=first["views"]["static"] if first else _waiting(),
                    ),
                    panels.graph_panel(
                        "While loop: dynamic_rnn",
                        ids.GRAPH["dynamic"],
                        ids.VIEW_INFO["dynamic"],
                        ids.STATS["dynamic"],
                        first=first["views"]["dynamic"] if first else _waiting(),
                    ),
                ],
            ),
            dcc.Graph(id=ids.GROWTH, config={"displayModeBar": False}, style={"height": "260px"}),
        ]
    )


def _waiting() -> tuple:
    return [], {"name": "preset", "fit": True, "padding": 12}, "building...", []


# ---- callback bodies (plain functions) ---------------------------------------------------------


def build_pair(spec: str, steps: int, set_progress: Any = None) -> tuple[Any, str]:
    """Build (or find in the cache) both graphs of `spec` at T=`steps`; (store data, status).

    `set_progress` gets (done, total, stage, partial): partial names the graphs that can be
    drawn already ({"key", "spec", "steps", "ready": [...]}, or None)."""
    shown: dict[str, Any] = {"bar": ("0", "1", "starting a job process..."), "partial": None}

    def tell() -> None:
        if set_progress is not None:
            set_progress((*shown["bar"], shown["partial"]))

    def progress(done: int, total: int, stage: str) -> None:
        shown["bar"] = (str(done), str(total), stage)
        tell()

    try:
        steps = validate.checked_steps(steps)
        key = jobs.build_key(validate.checked_spec(spec).with_steps(steps), steps)

        def ready(which: list[str]) -> None:
            if which and which != (shown["partial"] or {}).get("ready"):
                shown["partial"] = {"key": key, "spec": spec, "steps": steps, "ready": which}
                tell()

        meta = jobs.ensure_built(spec, steps, progress=progress, ready=ready)
    except RnnvizError as exc:
        return no_update, f"could not build {str(spec)[:60]} at T={str(steps)[:12]}: {exc}"
    return _build_result(spec, steps, meta)


def _build_result(spec: str, steps: int, meta: dict[str, Any]) -> tuple[dict[str, Any], str]:
    data = {"key": meta["key"], "spec": spec, "steps": int(steps)}
    s, d = meta["static"], meta["dynamic"]
    status = (
        f"{spec} at T={steps}: static {s['nodes']:,} nodes, {s['bytes'] / 1e6:.2f} MB; "
        f"dynamic {d['nodes']:,} nodes, {d['bytes'] / 1e6:.2f} MB"
    )
    return data, status


def panel(
    build: dict[str, Any] | None,
    expanded: list[str] | None,
    which: str,
    selected: dict[str, Any] | None = None,
) -> tuple:
    if not build:
        return [], no_update, "building...", []
    try:
        key = validate.checked_key(build)
    except RnnvizError as exc:  # a forged or stale key: nothing is read
        return [], no_update, str(exc), []
    focus = (selected or {}).get("name")
    return panels.panel_outputs(settings().cache_dir, key, which, expanded, focus)


def panel_update(
    build: dict[str, Any] | None,
    expanded: list[str] | None,
    which: str,
    selected: dict[str, Any] | None = None,
    drawn: dict[str, Any] | None = None,
) -> tuple:
    """A panel after a change of the build or its open blocks. The collapsed view of the build
    that the panel shows already (`drawn`: the panel's layout, which names its entry; drawn
    while the other graph was building) is not sent again."""
    out = panel(build, expanded, which, selected)
    same = (
        isinstance(drawn, dict)
        and isinstance(build, dict)
        and drawn.get("graph") == build.get("key")
        and not drawn.get("open")
        and not expanded
    )
    return (no_update, no_update, *out[2:]) if same else out


def partial_panel(
    partial: dict[str, Any] | None, which: str, drawn: dict[str, Any] | None = None
) -> tuple:
    """(summary line, elements, layout, stats) of a graph of a build in progress, drawn as soon
    as it is partitioned (the other graph may still be building); nothing if it is not ready,
    not this server's, or drawn already."""
    nothing = (no_update,) * 4
    if not isinstance(partial, dict) or which not in (partial.get("ready") or []):
        return nothing
    try:
        key = validate.checked_partial(partial, which)
    except RnnvizError:
        return nothing
    if isinstance(drawn, dict) and drawn.get("graph") == key:
        return nothing
    elements, layout, info, stats = panels.panel_outputs(settings().cache_dir, key, which, [])
    note = f"{partial.get('spec')} T={partial.get('steps')}: {info} (still building: a block "
    return note + "clicked now opens when the build is done)", elements, layout, stats


def state_from_url(
    search: str | None, spec: str, steps: int, loaded: dict | None = None
) -> tuple[Any, Any, Any]:
    """(spec, T, per-panel state) from the URL at page load; spec and T change only when the URL
    names other (valid) values, so the build does not restart for nothing. Read once: later
    changes of the URL are the page writing its own state."""
    if loaded:
        return no_update, no_update, no_update
    state = urlstate.decode(search)
    new_spec = state["spec"] if state["spec"] in sample_names() else None
    new_steps = (
        state["steps"] if state["steps"] and 1 <= state["steps"] <= settings().max_steps else None
    )
    state["spec"] = new_spec or spec
    state["steps"] = new_steps or steps
    initial = {w: urlstate.initial_for(state, w) for w in ("static", "dynamic")}
    return (
        new_spec if new_spec and new_spec != spec else no_update,
        new_steps if new_steps and new_steps != steps else no_update,
        initial,
    )


def url_from_state(
    spec: str, steps: int, exp_s: Any, exp_d: Any, sel_s: Any, sel_d: Any, path: str | None
) -> Any:
    """The query string of the current view (only while the Structure page is shown)."""
    if path not in (None, "", PATH):
        return no_update
    return urlstate.encode(
        spec, steps, {"static": exp_s, "dynamic": exp_d}, {"static": sel_s, "dynamic": sel_d}
    )


def growth(build: dict[str, Any] | None, history: list[dict[str, Any]] | None) -> tuple:
    """Node counts of the builds seen in this session, against T: the unrolled line grows, the
    loop line stays flat."""
    history = list(history or [])
    if build:
        meta = jobs.read_meta(settings().cache_dir, build["key"]) or {}
        if meta:
            point = {
                "spec": build["spec"],
                "steps": build["steps"],
                "static": meta["static"]["nodes"],
                "dynamic": meta["dynamic"]["nodes"],
            }
            history = [
                h for h in history if (h["spec"], h["steps"]) != (point["spec"], point["steps"])
            ]
            history.append(point)
    spec = build["spec"] if build else None
    pts = sorted((h for h in history if h["spec"] == spec), key=lambda h: h["steps"])
    fig = go.Figure()
    for which, name in (("static", "unrolled (static)"), ("dynamic", "while loop (dynamic)")):
        fig.add_trace(
            go.Scatter(
                x=[p["steps"] for p in pts],
                y=[p[which] for p in pts],
                mode="lines+markers",
                name=name,
            )
        )
    fig.update_layout(
        title={"text": f"Graph nodes against T for {spec} (builds seen this session)", "x": 0.01},
        xaxis_title="time steps T",
        yaxis_title="nodes",
        margin={"t": 40, "b": 40, "l": 60, "r": 10},
        height=250,
    )
    return history, fig


def _build_background(set_progress: Any, request: dict[str, Any] | None) -> tuple[Any, ...]:
    # A named module-level function: background managers key their jobs by the function and its
    # arguments; the request carries the page's nonce, so two tabs asking for the same build are
    # two jobs (each gets its result) that share one cache entry (one build).
    if not isinstance(request, dict):
        return no_update, "", no_update
    data, status = build_pair(request.get("spec"), request.get("steps"), set_progress)
    return data, status, None if data is no_update else no_update  # failed: may be asked again


def cancelled(_clicks: Any, shown: dict[str, Any] | None) -> tuple[Any, str]:
    """After Cancel: the shown build is what was asked last (the same request may come again)."""
    return (
        {"spec": shown.get("spec"), "steps": shown.get("steps")} if shown else None
    ), "cancelled"


# ---- build requests: T box, spec changes, which page asks ---------------------------------


def steps_box(cfg: Settings) -> list[Any]:
    """The T number box (applies on Enter or when leaving it) and the note about a kept T."""
    return [
        dcc.Input(
            id=ids.STEPS_BOX,
            type="number",
            min=1,
            max=cfg.max_steps,
            step=1,
            value=min(DEFAULT_STEPS, cfg.max_steps),
            debounce=True,  # Enter or blur, not every keystroke
            style={"width": "70px"},
        ),
        html.Span(id=ids.STEPS_NOTE, className="note"),
    ]


def sync_steps(
    trigger: str | None, slider: Any, box: Any, spec: Any, previous: dict[str, Any] | None
) -> tuple[Any, Any, str]:
    """(slider value, box value, note) after a change of the slider, the box or the spec.

    A new spec takes its own T unless the user had chosen another T, which is kept and said."""
    if trigger == ids.STEPS_BOX:
        try:
            value = validate.checked_steps(box)
        except RnnvizError as exc:
            return no_update, slider, str(exc)
        return value, no_update, ""
    if trigger == ids.SPEC and isinstance(previous, dict):
        try:
            old_t = validate.checked_spec(previous.get("spec")).time_steps
            new_t = validate.checked_spec(spec).time_steps
        except RnnvizError:
            return no_update, no_update, ""
        if slider == old_t and new_t and new_t != slider:
            return new_t, new_t, f"T set to {spec}'s own T={new_t}"
        if new_t and slider != new_t:
            return (
                no_update,
                no_update,
                f"T={slider} kept from the previous spec ({spec} has T={new_t})",
            )
        return no_update, no_update, ""
    return no_update, slider, ""


# Pages that show the build: the Structure page (also for unknown paths) and the Report page.
BUILD_PAGES = ("/", "/report")


def build_request(
    spec: Any,
    steps: Any,
    pathname: Any,
    nonce: Any,
    shown: dict[str, Any] | None,
    asked: dict[str, Any] | None,
) -> tuple[Any, Any, Any, Any]:
    """(build request, asked, build data, status) after a change of spec, T or page.

    Only a page that shows the build asks for one (opening the Open-a-file or the Training page
    builds nothing), only when spec or T changed. A cached build is shown at once, with no job,
    unless a job for another build is still running: then the request (a cache hit) replaces it."""
    from app.pages import PAGES

    known = {p.PATH for p in PAGES}
    wanted = {"spec": spec, "steps": steps}
    if (pathname in known and pathname not in BUILD_PAGES) or _same(asked, wanted):
        return no_update, no_update, no_update, no_update
    pending = asked is not None and not _same(asked, shown)
    cached = None if pending else cached_build(spec, steps)
    if cached is not None:
        return no_update, wanted, *cached
    return {**wanted, "nonce": nonce}, wanted, no_update, no_update


def _same(a: Any, b: Any) -> bool:
    return (
        isinstance(a, dict)
        and isinstance(b, dict)
        and ((a.get("spec"), a.get("steps")) == (b.get("spec"), b.get("steps")))
    )


def cached_build(spec: Any, steps: Any) -> tuple[dict[str, Any], str] | None:
    """(store data, status) of a build already in the cache, else None (no job is started)."""
    try:
        steps = validate.checked_steps(steps)
        key = jobs.build_key(validate.checked_spec(spec).with_steps(steps), steps)
        meta = jobs.read_meta(settings().cache_dir, key)
    except RnnvizError:
        return None  # the job's callback says what is wrong
    if meta is None:
        return None
    if not meta.get("figures"):
        jobs.start_figures(settings(), key, spec, steps)
    return _build_result(spec, steps, meta)


# ---- wiring ------------------------------------------------------------------------------------


def register(app: Any) -> None:
    """Every callback of the Structure page: the build, the two panels, the URL."""
    _register_build(app)
    _register_panels(app)
    _register_url_and_growth(app)


def _register_build(app: Any) -> None:
    """T box and slider, the build request, Cancel, and the background build job."""
    app.callback(
        Output(ids.STEPS, "value"),
        Output(ids.STEPS_BOX, "value"),
        Output(ids.STEPS_NOTE, "children"),
        Input(ids.STEPS, "value"),
        Input(ids.STEPS_BOX, "value"),
        Input(ids.SPEC, "value"),
        State(ids.BUILD_KEY, "data"),
        prevent_initial_call=True,
    )(lambda *args: sync_steps(ctx.triggered_id, *args))
    app.callback(
        Output(ids.BUILD_REQUEST, "data"),
        Output(ids.BUILD_ASKED, "data"),
        Output(ids.BUILD_KEY, "data", allow_duplicate=True),
        Output(ids.BUILD_STATUS, "children", allow_duplicate=True),
        Input(ids.SPEC, "value"),
        Input(ids.STEPS, "value"),
        Input(ids.URL, "pathname"),
        State(ids.NONCE, "data"),
        State(ids.BUILD_KEY, "data"),
        State(ids.BUILD_ASKED, "data"),
        prevent_initial_call="initial_duplicate",
    )(build_request)
    app.callback(
        Output(ids.BUILD_ASKED, "data", allow_duplicate=True),
        Output(ids.BUILD_STATUS, "children", allow_duplicate=True),
        Input(ids.BUILD_CANCEL, "n_clicks"),
        State(ids.BUILD_KEY, "data"),
        prevent_initial_call=True,
    )(cancelled)
    progress = panels.job_progress(ids.BUILD_PROGRESS, ids.BUILD_STAGE)
    progress["progress"].append(Output(ids.BUILD_PARTIAL, "data"))
    progress["progress_default"].append(None)
    progress["running"].append((Output(ids.BUILD_CANCEL, "style"), {}, {"display": "none"}))
    app.callback(
        Output(ids.BUILD_KEY, "data"),
        Output(ids.BUILD_STATUS, "children"),
        Output(ids.BUILD_ASKED, "data", allow_duplicate=True),
        Input(ids.BUILD_REQUEST, "data"),
        background=True,
        cancel=[Input(ids.BUILD_CANCEL, "n_clicks")],
        interval=300,  # ms between polls of the job: a cached answer shows without a 1 s wait
        prevent_initial_call=True,  # the request comes from build_request
        **progress,
    )(_build_background)


def _register_panels(app: Any) -> None:
    """Each panel: redrawn on a new build or open blocks, drawn early from a partial build,
    and its clicks and searches."""
    for which in ("static", "dynamic"):
        app.callback(
            Output(ids.GRAPH[which], "elements"),
            Output(ids.GRAPH[which], "layout"),
            Output(ids.VIEW_INFO[which], "children"),
            Output(ids.STATS[which], "data"),
            Input(ids.BUILD_KEY, "data"),
            Input(ids.EXPANDED[which], "data"),
            State(panels.sub_id(ids.GRAPH[which], "selected"), "data"),
            State(ids.GRAPH[which], "layout"),
            # The first view is in the layout (or "building..." until the build is there).
            prevent_initial_call=True,
        )(
            lambda build, expanded, sel, drawn, _w=which: panel_update(
                build, expanded, _w, sel, drawn
            )
        )
        # Its own callback: Dash holds back a callback whose input (BUILD_KEY) a running job
        # will set, so the panel above waits for the whole build; this one does not.
        app.callback(
            Output(ids.VIEW_INFO[which], "children", allow_duplicate=True),
            Output(ids.GRAPH[which], "elements", allow_duplicate=True),
            Output(ids.GRAPH[which], "layout", allow_duplicate=True),
            Output(ids.STATS[which], "data", allow_duplicate=True),
            Input(ids.BUILD_PARTIAL, "data"),
            State(ids.GRAPH[which], "layout"),
            prevent_initial_call=True,
        )(lambda partial, drawn, _w=which: partial_panel(partial, _w, drawn))
        panels.register_expand(
            app, ids.EXPANDED[which], ids.GRAPH[which], ids.BUILD_KEY, which, ids.URL_STATE
        )


def _register_url_and_growth(app: Any) -> None:
    """The page's state read from and written to the URL, and the nodes-against-T chart."""
    app.callback(
        Output(ids.SPEC, "value", allow_duplicate=True),
        Output(ids.STEPS, "value", allow_duplicate=True),
        Output(ids.URL_STATE, "data"),
        # Read from the shell's Location, written through this page's own: one component for
        # both would close a loop (URL -> state -> URL) that Dash refuses.
        Input(ids.URL, "search"),
        State(ids.SPEC, "value"),
        State(ids.STEPS, "value"),
        State(ids.URL_STATE, "data"),
        prevent_initial_call="initial_duplicate",
    )(state_from_url)
    app.callback(
        Output(ids.STATE_URL, "search"),
        Input(ids.SPEC, "value"),
        Input(ids.STEPS, "value"),
        Input(ids.EXPANDED["static"], "data"),
        Input(ids.EXPANDED["dynamic"], "data"),
        Input(panels.sub_id(ids.GRAPH["static"], "selected"), "data"),
        Input(panels.sub_id(ids.GRAPH["dynamic"], "selected"), "data"),
        State(ids.STATE_URL, "pathname"),
        prevent_initial_call=True,
    )(url_from_state)

    app.callback(
        Output(ids.GROWTH + "-history", "data"),
        Output(ids.GROWTH, "figure"),
        Input(ids.BUILD_KEY, "data"),
        State(ids.GROWTH + "-history", "data"),
    )(growth)
