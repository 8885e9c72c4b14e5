"""Report page: static vs dynamic of one spec at one T: the comparison table, what each claim of
the source material comes to for this spec, and the report's charts.

Which pair: `/report?spec=NAME&steps=T` names it (built in a background job when not cached);
plain `/report` shows the pair the Structure page built last. Everything comes from the cache
entry of that pair (reports, comparison and build measurements are computed by the jobs; peak
memory and SavedModel size arrive later, and the page redraws when they do); this page only reads
and draws (rnnviz.charts, rnnviz.claims).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode

from dash import Input, Output, State, ctx, dash_table, dcc, html, no_update

from app import figures, ids, jobs, panels
from rnnviz.charts import RATIO
from rnnviz.claims import HOLDS, Claim, claims
from rnnviz.errors import RnnvizError
from rnnviz.settings import settings
from rnnviz.spec import load_sample  # a name from the URL: samples only, never a path

KEY = "report"
PATH = "/report"
TITLE = "Report"


def layout(cfg: Any) -> Any:
    return html.Div(
        [
            html.H2(id=ids.REPORT_TITLE, children="Report"),
            html.Div(
                className="build-row",
                children=[
                    html.Progress(
                        id=ids.REPORT_PROGRESS, value="0", max="7", style={"display": "none"}
                    ),
                    html.Span(id=ids.REPORT_STAGE, className="stage"),
                    html.A(id=ids.REPORT_LINK, className="status"),
                ],
            ),
            # While the costly figures (peak memory, SavedModel size) are still being measured by
            # their own job after the build, the page looks again every few seconds.
            dcc.Interval(id=ids.REPORT_TICK, interval=3000, disabled=True, max_intervals=200),
            dcc.Store(id=ids.REPORT_WANTED),
            dcc.Store(id=ids.REPORT_PAIR),
            html.Div(
                className="report-top",
                children=[
                    dash_table.DataTable(
                        id=ids.REPORT_SUMMARY,
                        columns=[
                            {"name": c, "id": c} for c in ("figure", "static", "dynamic", RATIO)
                        ],
                        data=[],
                        style_cell={"textAlign": "left", "fontSize": 13, "padding": "2px 6px"},
                        style_cell_conditional=[
                            {"if": {"column_id": c}, "textAlign": "right"}
                            for c in ("static", "dynamic", RATIO)
                        ],
                        style_header={"fontWeight": "bold"},
                    ),
                    html.Div(id=ids.REPORT_CLAIMS, className="claims"),
                ],
            ),
            html.Div(id=ids.REPORT_CHARTS, className="charts"),
        ]
    )


# ---- callback bodies (plain functions) ---------------------------------------------------------


def wanted_pair(search: str | None) -> dict[str, Any] | None:
    """(spec, steps) the URL's query names, {"error": ...} for a bad one, None when it names none."""
    query = parse_qs((search or "").lstrip("?"))
    if "spec" not in query:
        return None
    name = query["spec"][0]
    cfg = settings()
    try:
        spec = load_sample(name)
        steps = int(query.get("steps", [spec.time_steps or 28])[0])
    except RnnvizError as exc:
        return {"error": f"spec={name}: {exc}"}
    except ValueError:
        return {"error": f"steps={query['steps'][0]}: not a whole number; use e.g. steps=28"}
    if not 1 <= steps <= cfg.max_steps:
        return {
            "error": f"steps={steps}: out of range; this server builds T from 1 to {cfg.max_steps}"
        }
    return {"spec": name, "steps": steps}


def from_url(pathname: str | None, search: str | None) -> tuple[Any, Any]:
    """(pair to show, pair to build): a cached pair is shown at once, another one built first."""
    if pathname != PATH:
        return no_update, no_update
    want = wanted_pair(search)
    if want is None or "error" in want:
        return want, no_update
    key = jobs.build_key(load_sample(want["spec"]).with_steps(want["steps"]), want["steps"])
    if jobs.read_meta(settings().cache_dir, key) is not None:
        return {**want, "key": key}, no_update
    return {**want, "building": True}, want


def build_wanted(want: dict[str, Any] | None, set_progress: Any = None) -> Any:
    """Build the pair the URL asked for (the Structure page's job, shared through the cache)."""
    from app.pages.structure import build_pair

    if not want:
        return no_update
    data, status = build_pair(want["spec"], want["steps"], set_progress)
    return data if data is not no_update else {**want, "error": status}


def _build_background(set_progress: Any, want: dict[str, Any] | None) -> Any:
    return build_wanted(want, set_progress)


def claims_view(items: list[Claim]) -> list[Any]:
    """One short paragraph per claim, its verdict in front."""
    return [html.H3("The source's claims, for this spec")] + [
        html.Div(
            className="claim",
            children=[
                html.Span(f"{c.number}. {c.title}", className="claim-title"),
                html.Span(
                    c.verdict, className="verdict " + ("holds" if c.verdict == HOLDS else "other")
                ),
                html.P(c.text),
            ],
        )
        for c in items
    ]


def report_view(pair: dict[str, Any] | None) -> tuple[Any, ...]:
    """(title, link, table rows, claims, charts, complete) of a built pair in the cache;
    `complete`: the costly figures are in (else they come later, from their own job)."""
    empty = ("", [], [], [], True)
    if not pair:
        return ("Report: waiting for the Structure page's build", *empty)
    if "error" in pair:
        return (f"Report: {pair['error']}", *empty)
    if pair.get("building") or "key" not in pair:
        return (f"Report: building {pair['spec']} at T={pair['steps']}...", *empty)
    cache, key = settings().cache_dir, pair["key"]
    meta = jobs.read_meta(cache, key) or {}
    reports = {w: jobs.read_json(cache, key, f"{w}.report.json") for w in jobs.UNROLLS}
    builds = {w: meta.get(w, {}) for w in jobs.UNROLLS}
    comparison = jobs.read_json(cache, key, "compare.json")
    spec = load_sample(pair["spec"]).with_steps(pair["steps"]).to_dict()
    link = f"{PATH}?{urlencode({'spec': pair['spec'], 'steps': pair['steps']})}"
    complete = bool(meta.get("figures"))
    title = f"Report: {pair['spec']} at T={pair['steps']}, static_rnn vs dynamic_rnn"
    if not complete:
        title += " (peak memory and SavedModel size are being measured...)"
    return (
        title,
        link,
        figures.compare_table(comparison, builds),
        claims_view(claims(reports["static"], reports["dynamic"], builds, spec)),
        panels.report_graphs("report", reports, builds),
        complete,
    )


def _measuring(pair: dict[str, Any] | None) -> bool:
    """Whether the pair's costly figures are still being measured (what `report_view` calls not
    `complete`), from its meta alone."""
    if not isinstance(pair, dict) or "error" in pair or pair.get("building") or "key" not in pair:
        return False
    return not (jobs.read_meta(settings().cache_dir, pair["key"]) or {}).get("figures")


def report_page(
    trigger: str | None,
    build: dict[str, Any] | None,
    pair: dict[str, Any] | None,
    search: str | None,
) -> tuple[Any, ...]:
    """The URL's pair when it names one, else the Structure page's build; on a tick, drawn again
    only once the costly figures have arrived."""
    chosen = pair if wanted_pair(search) is not None else build
    if trigger == ids.REPORT_TICK and _measuring(chosen):
        return (no_update,) * 7  # before reading the reports and drawing every chart for nothing
    title, link, rows, items, charts, complete = report_view(chosen)
    text = f"link to this report: {link}" if link else ""
    return title, link, text, rows, items, charts, complete


def register(app: Any) -> None:
    app.callback(
        Output(ids.REPORT_PAIR, "data"),
        Output(ids.REPORT_WANTED, "data"),
        Input(ids.URL, "pathname"),
        Input(ids.URL, "search"),
    )(from_url)
    app.callback(
        Output(ids.REPORT_PAIR, "data", allow_duplicate=True),
        Input(ids.REPORT_WANTED, "data"),
        background=True,
        **panels.job_progress(ids.REPORT_PROGRESS, ids.REPORT_STAGE),
        prevent_initial_call=True,
    )(_build_background)
    app.callback(
        Output(ids.REPORT_TITLE, "children"),
        Output(ids.REPORT_LINK, "href"),
        Output(ids.REPORT_LINK, "children"),
        Output(ids.REPORT_SUMMARY, "data"),
        Output(ids.REPORT_CLAIMS, "children"),
        Output(ids.REPORT_CHARTS, "children"),
        Output(ids.REPORT_TICK, "disabled"),
        Input(ids.BUILD_KEY, "data"),
        Input(ids.REPORT_PAIR, "data"),
        Input(ids.REPORT_TICK, "n_intervals"),
        # Drawn when this page is shown (its charts are costly), not at every Structure load.
        Input(ids.URL, "pathname"),
        State(ids.URL, "search"),
    )(
        lambda build, pair, _tick, path, search: (
            report_page(ctx.triggered_id, build, pair, search) if path == PATH else (no_update,) * 7
        )
    )
