"""Open a file: upload a .pb, .pbtxt, .meta or a zipped SavedModel and see its structure and report.

The file is saved (content-addressed) in the cache dir and analysed by a background job in a
fresh process, like a build; a bad file gives one message saying what is wrong and what to upload,
and the file shown before stays on the page. The browser checks size and kind before sending and
shows the sending progress (app/assets/upload.js; the limit comes from the server's settings).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from dash import Input, Output, State, dcc, html, no_update

from app import ids, jobs, panels
from rnnviz.errors import RnnvizError
from rnnviz.settings import settings

KEY = "open"
PATH = "/open"
TITLE = "Open a file"


def layout(cfg: jobs.Settings) -> Any:
    limit_mb = cfg.max_upload_bytes / 2**20
    return html.Div(
        [
            html.Div(  # what app/assets/upload.js checks a file against before it is read
                id=ids.UPLOAD_LIMIT,
                style={"display": "none"},
                **{
                    "data-max-bytes": str(cfg.max_upload_bytes),
                    "data-suffixes": ",".join(jobs.UPLOAD_SUFFIXES),
                },
            ),
            dcc.Upload(
                id=ids.UPLOAD,
                className="upload",
                children=html.Div(
                    [
                        "Drop or ",
                        html.A("choose"),
                        f" a .pb, .pbtxt, .meta or a zipped SavedModel (at most {limit_mb:.0f} MB)",
                    ]
                ),
                accept=",".join(jobs.UPLOAD_SUFFIXES),
                max_size=cfg.max_upload_bytes,
                multiple=False,
            ),
            html.Div(
                className="build-row",
                children=[  # the sending progress, driven by app/assets/upload.js
                    html.Progress(id=ids.UPLOAD_SEND, style={"display": "none"}),
                    html.Span(id=ids.UPLOAD_SEND_TEXT, className="stage"),
                ],
            ),
            html.Div(
                className="build-row",
                children=[
                    html.Progress(
                        id=ids.UPLOAD_PROGRESS, value="0", max="2", style={"display": "none"}
                    ),
                    html.Span(id=ids.UPLOAD_STAGE, className="stage"),
                    html.Span(id=ids.UPLOAD_STATUS, className="status"),
                ],
            ),
            dcc.Store(id=ids.UPLOAD_KEY),
            dcc.Store(id=ids.FILE_EXPANDED, data=[]),
            panels.graph_panel("Structure", ids.FILE_GRAPH, ids.FILE_INFO, ids.FILE_STATS, 620),
            html.Div(id=ids.FILE_REPORT, className="charts"),
        ]
    )


# ---- callback bodies (plain functions) ---------------------------------------------------------


def analyse_upload(
    contents: str | None, filename: str | None, set_progress: Any = None
) -> tuple[Any, str]:
    """Save and analyse an upload; (store data, status message). A rejected upload leaves the
    store as it was (no_update), so the file shown before stays on the page."""
    if not contents or not filename:
        return no_update, ""
    cfg = settings()

    def progress(done: int, total: int, stage: str) -> None:
        if set_progress is not None:
            set_progress((str(done), str(total), stage))

    try:
        _, _, b64 = contents.partition(",")
        data = base64.b64decode(b64, validate=True)
        path = jobs.store_upload(cfg.cache_dir, filename, data, cfg.max_upload_bytes)
    except binascii.Error:
        return no_update, f"{filename}: the upload arrived damaged; try again"
    except RnnvizError as exc:
        return no_update, str(exc)
    try:
        meta = jobs.ensure_analysed(path, cache_dir=cfg.cache_dir, progress=progress)
    except RnnvizError as exc:  # name the file as the user knows it, not our cache path
        return no_update, str(exc).replace(str(path), filename)
    status = f"{filename}: {meta['kind']}, {meta['nodes']:,} nodes"
    return {"key": meta["key"], "name": filename}, status


def file_views(upload: dict[str, Any] | None, expanded: list[str] | None) -> tuple:
    """(elements, layout, summary, stats, report charts) of the analysed file."""
    if not upload:
        return [], no_update, "no file yet", [], []
    cache = settings().cache_dir
    elements, layout, info, stats = panels.panel_outputs(cache, upload["key"], "file", expanded)
    report = jobs.read_json(cache, upload["key"], "file.report.json")
    charts = panels.report_graphs("file-report", {upload["name"]: report})
    return elements, layout, info, stats, charts


def _analyse_background(set_progress: Any, contents: str | None, filename: str | None) -> tuple:
    return analyse_upload(contents, filename, set_progress)


def register(app: Any) -> None:
    app.callback(
        Output(ids.UPLOAD_KEY, "data"),
        Output(ids.UPLOAD_STATUS, "children"),
        Input(ids.UPLOAD, "contents"),
        State(ids.UPLOAD, "filename"),
        background=True,
        **panels.job_progress(ids.UPLOAD_PROGRESS, ids.UPLOAD_STAGE),
        prevent_initial_call=True,
    )(_analyse_background)
    app.callback(
        Output(ids.FILE_GRAPH, "elements"),
        Output(ids.FILE_GRAPH, "layout"),
        Output(ids.FILE_INFO, "children"),
        Output(ids.FILE_STATS, "data"),
        Output(ids.FILE_REPORT, "children"),
        Input(ids.UPLOAD_KEY, "data"),
        Input(ids.FILE_EXPANDED, "data"),
    )(file_views)
    panels.register_expand(app, ids.FILE_EXPANDED, ids.FILE_GRAPH, ids.UPLOAD_KEY)
