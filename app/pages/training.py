"""Training page: start/stop runs of the selected spec, watch loss/accuracy and activations live.

A run trains in its own process (`rnnviz.training.start_run_process`) and writes to the run store;
this page only reads the store on a `dcc.Interval`, so a reload, another browser or another
server worker sees the same runs. Which runs are watched is kept in the browser (local storage).
"""

from __future__ import annotations

from typing import Any

from dash import Input, Output, State, ctx, dash_table, dcc, html, no_update

from app import figures, ids
from rnnviz.errors import RnnvizError
from rnnviz.recipes import recipe_for
from rnnviz.settings import settings
from rnnviz.store import RunStore

KEY = "training"
PATH = "/training"
TITLE = "Training"
REFRESH_MS = 1500  # the issue asks for at least every 2 s
DATA = "digits"
# The data's recipe (rnnviz.recipes) sets steps, rate, batch and intervals, as for `rnnviz train`.
DEFAULT_TRAIN_STEPS = recipe_for(DATA).steps
LOG_EVERY = 10  # a train-accuracy point every 10 steps: the live curve moves while one watches


def layout(cfg: Any) -> Any:
    return html.Div(
        [
            html.Div(
                className="controls",
                children=[
                    html.Span("Train the spec chosen on the Structure page on digits, for"),
                    dcc.Input(
                        id=ids.TRAIN_STEPS,
                        type="number",
                        min=1,
                        max=100_000,
                        value=DEFAULT_TRAIN_STEPS,
                        style={"width": "90px"},
                    ),
                    html.Span("steps"),
                    html.Button("Start run", id=ids.TRAIN_START),
                    html.Button("Stop run", id=ids.TRAIN_STOP),
                    html.Span(id=ids.TRAIN_MESSAGE, className="status"),
                ],
            ),
            dcc.Interval(id=ids.TICK, interval=REFRESH_MS, disabled=True),  # on: shown
            dash_table.DataTable(
                id=ids.RUNS_TABLE,
                columns=[
                    {"name": c, "id": c}
                    for c in ("id", "run", "status", "steps", "test accuracy", "seconds")
                ],
                data=[],
                page_size=8,
                style_cell={
                    "textAlign": "left",
                    "fontSize": 13,
                    "whiteSpace": "normal",
                    "height": "auto",
                },
            ),
            html.Label("Watch and compare:"),
            dcc.Checklist(
                id=ids.RUNS,
                options=[],
                value=[],
                inline=True,
                persistence=True,
                persistence_type="local",
            ),
            dcc.Graph(id=ids.CURVES),
            html.Div(
                className="controls",
                children=[
                    html.Label("Activations of run"),
                    dcc.Dropdown(id=ids.HEAT_RUN, options=[], style={"minWidth": "320px"}),
                    html.Label("probe sample"),
                    dcc.Dropdown(
                        id=ids.HEAT_SAMPLE,
                        options=[{"label": str(i), "value": i} for i in range(4)],
                        value=0,
                        clearable=False,
                        style={"width": "80px"},
                    ),
                    html.Span(id=ids.HEAT_STEP, className="status"),
                ],
            ),
            html.Div(
                className="heat-row",
                children=[
                    # Its own width from the start: sized by plotly's 700 px default until its
                    # figure arrives, it would squeeze the heatmaps drawn beside it meanwhile.
                    dcc.Graph(
                        id=ids.DIGIT,
                        config={"displayModeBar": False},
                        style={"width": "260px", "flex": "none"},
                    ),
                    dcc.Graph(id=ids.HEATMAPS, style={"flex": "1", "minWidth": 0}),
                ],
            ),
        ]
    )


def _store() -> RunStore:
    return RunStore(settings().runs_dir)


# ---- callback bodies (plain functions) ---------------------------------------------------------


def _run_options(runs: list[Any]) -> list[dict[str, str]]:
    return [{"label": f"{figures.run_label(r)} ({r.status})", "value": r.id} for r in runs]


def start_or_stop(
    trigger: str | None, spec: str | None, steps: Any, watched: list[str] | None, heat_run: Any
) -> tuple[Any, ...]:
    """Start a run of `spec` (watched and shown at once) or ask the shown run to stop.

    Returns (message, watched runs, their options, shown run, its options): a dropdown drops a
    value that is not among its options, so the new run's options go out with it."""
    from rnnviz.training import start_run_process

    watched = list(watched or [])
    nothing = (no_update,) * 4
    try:
        if trigger == ids.TRAIN_STOP:
            target = heat_run or (watched[-1] if watched else None)
            if not target:
                return ("no run selected to stop", *nothing)
            # Only ask: the run checkpoints and stops by itself; the page sees it in the store.
            _store().request_stop(target)
            return (f"asked run {target} to stop", *nothing)
        if not spec:
            return ("choose a spec on the Structure page first", *nothing)
        spec, steps = _checked_start(spec, steps)
        run_id = start_run_process(
            spec,
            DATA,
            runs_dir=settings().runs_dir,
            steps=steps,
            log_every=LOG_EVERY,
        )
    except (RnnvizError, ValueError) as exc:
        return (f"error: {exc}", *nothing)
    options = _run_options(_store().list_runs())
    return f"started run {run_id} ({spec})", [*watched, run_id], options, run_id, options


def _checked_start(spec: Any, steps: Any) -> tuple[Any, int]:
    """The spec (a sample, never a path) and steps of a new run, within the server's caps."""
    from app import validate

    checked = validate.checked_spec(spec)
    steps = validate.checked_train_steps(DEFAULT_TRAIN_STEPS if steps is None else steps)
    validate.run_slot_free()
    return checked, steps


def runs_overview(
    _tick: Any, watched: list[str] | None, heat_run: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, str]], list[str], list[dict[str, str]], Any]:
    """Runs table, watch options (running runs are watched by default: a reload reattaches),
    and the heatmap's run choices (the newest run when none is chosen: finished runs stay
    browsable)."""
    runs = _store().list_runs()
    rows = figures.runs_rows(runs)
    options = _run_options(runs)
    known = {r.id for r in runs}
    kept = [w for w in (watched or []) if w in known]
    if not kept:
        kept = [r.id for r in runs if r.status == "running"]
    heat = heat_run if heat_run in known else (kept[-1] if kept else None)
    if heat is None and runs:
        heat = runs[0].id
    # Only send values that changed: rewriting them every tick would fight the user's clicks.
    return (
        rows,
        options,
        kept if kept != (watched or []) else no_update,
        options,
        heat if heat != heat_run else no_update,
    )


def curves(_tick: Any, watched: list[str] | None) -> Any:
    """Loss and accuracy of the watched runs, each named by spec, data and start time."""
    store = _store()
    series = {}
    for run_id in watched or []:
        try:
            label = figures.run_label(store.get_run(run_id))
            series[label] = [vars(m) for m in store.metrics(run_id)]
        except RnnvizError:
            continue
    return figures.curves_figure(series)


def heatmaps(
    trigger: str | None, run_id: str | None, sample: int | None, shown: str | None = None
) -> tuple[Any, Any, str]:
    """Latest activation snapshot of `run_id` for one probe sample, and that sample's image.
    Nothing is sent when the interval fires and the shown snapshot is still the latest."""
    if not run_id:
        return figures.heatmaps_figure({}), figures.digit_figure([[0]]), "no run selected"
    store = _store()
    steps = store.snapshot_steps(run_id)
    if not steps:
        return figures.heatmaps_figure({}), figures.digit_figure([[0]]), "no snapshot yet"
    sample = int(sample or 0)
    try:
        x, y = store.probe(run_id)
    except RnnvizError:
        return figures.heatmaps_figure({}), figures.digit_figure([[0]]), "no probe yet"
    sample = min(sample, len(y) - 1)
    name = figures.run_label(store.get_run(run_id))
    label = (
        f"{name}: snapshot at training step {steps[-1]}, probe sample {sample} (digit {y[sample]})"
    )
    if label == shown and trigger == ids.TICK:
        return no_update, no_update, no_update
    acts = store.activations(run_id, steps[-1], sample=sample)
    return (
        figures.heatmaps_figure(acts, label),
        figures.digit_figure(x[sample], y[sample]),
        label,
    )


# ---- wiring ------------------------------------------------------------------------------------


def register(app: Any) -> None:
    app.callback(
        Output(ids.TRAIN_MESSAGE, "children"),
        Output(ids.RUNS, "value", allow_duplicate=True),
        Output(ids.RUNS, "options", allow_duplicate=True),
        Output(ids.HEAT_RUN, "value", allow_duplicate=True),
        Output(ids.HEAT_RUN, "options", allow_duplicate=True),
        Input(ids.TRAIN_START, "n_clicks"),
        Input(ids.TRAIN_STOP, "n_clicks"),
        State(ids.SPEC, "value"),
        State(ids.TRAIN_STEPS, "value"),
        State(ids.RUNS, "value"),
        State(ids.HEAT_RUN, "value"),
        prevent_initial_call=True,
    )(lambda _start, _stop, *args: start_or_stop(ctx.triggered_id, *args))
    # Shown or not, every page is in the layout: the interval ticks (and the runs are read) only
    # while this page is shown, so another page's first view does not wait for these callbacks.
    app.callback(Output(ids.TICK, "disabled"), Input(ids.URL, "pathname"))(
        lambda path: path != PATH
    )
    app.callback(
        Output(ids.RUNS_TABLE, "data"),
        Output(ids.RUNS, "options"),
        Output(ids.RUNS, "value"),
        Output(ids.HEAT_RUN, "options"),
        Output(ids.HEAT_RUN, "value"),
        Input(ids.TICK, "n_intervals"),
        Input(ids.URL, "pathname"),
        State(ids.RUNS, "value"),
        State(ids.HEAT_RUN, "value"),
    )(lambda tick, path, *args: _shown(path, 5) or runs_overview(tick, *args))
    app.callback(
        Output(ids.CURVES, "figure"),
        Input(ids.TICK, "n_intervals"),
        Input(ids.RUNS, "value"),
        Input(ids.URL, "pathname"),
    )(lambda tick, watched, path: _shown(path, 1) or curves(tick, watched))
    app.callback(
        Output(ids.HEATMAPS, "figure"),
        Output(ids.DIGIT, "figure"),
        Output(ids.HEAT_STEP, "children"),
        Input(ids.TICK, "n_intervals"),
        Input(ids.HEAT_RUN, "value"),
        Input(ids.HEAT_SAMPLE, "value"),
        Input(ids.URL, "pathname"),
        State(ids.HEAT_STEP, "children"),
    )(
        lambda _tick, run, sample, path, shown: (
            _shown(path, 3) or heatmaps(ctx.triggered_id, run, sample, shown)
        )
    )


def _shown(path: Any, outputs: int) -> Any:
    """Nothing to send (`no_update` for each output) while this page is not the one shown."""
    if path == PATH:
        return None
    return no_update if outputs == 1 else (no_update,) * outputs
