"""The Dash app factory: `create_app()` makes the app, its background-callback manager and the shell.

One layout holds every page (Structure, Report, Training, Open a file) and the URL shows one of
them, so components such as the cytoscape panels stay mounted and callbacks never target a
missing component. Each page module owns its layout and registers its callbacks (app/pages/).

Background callbacks (graph builds, file analysis) run through
* a `DiskcacheManager` by default: local, no service, a cache dir under RNNVIZ_CACHE_DIR;
* a `CeleryManager` when RNNVIZ_CELERY_BROKER is set (e.g. redis://127.0.0.1:6379/0): several
  gunicorn workers serve the pages and Celery workers (`celery -A app.celery_app worker`) run jobs.
State lives in the cache dir and the run store, never in this process's memory, so any worker can
answer any request. The web process never imports TensorFlow (app/jobs.py says why).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import dash
from dash import Input, Output, dcc, html

from app import ids
from app.jobs import private_dir, sweep_stale
from app.jobs.shipped import install_shipped
from app.pages import PAGES
from rnnviz.settings import settings

BROKER_ENV = "RNNVIZ_CELERY_BROKER"


def _manager(celery_app: Any) -> Any:
    if celery_app is not None:
        return dash.CeleryManager(celery_app)
    from app.jobstore import job_store

    # Private: the job store holds Dash's handle-signing secret and every job's result (as JSON).
    folder = private_dir(settings().cache_dir / "dash-jobs")
    return dash.DiskcacheManager(job_store(str(folder)))


def create_app(
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    runs_dir: str | os.PathLike[str] | None = None,
    celery_app: Any = None,
) -> dash.Dash:
    """The dashboard. `cache_dir`/`runs_dir` override RNNVIZ_CACHE_DIR/RNNVIZ_RUNS_DIR.

    With RNNVIZ_CELERY_BROKER set and no `celery_app` given, returns the app of
    `app.celery_app` (the one whose background callbacks the Celery workers know)."""
    os.umask(0o077)  # whatever the server and its jobs create is this user's only
    # Settings travel through the environment so forked job processes and workers see them too.
    if cache_dir is not None:
        os.environ["RNNVIZ_CACHE_DIR"] = str(Path(cache_dir).resolve())
    if runs_dir is not None:
        os.environ["RNNVIZ_RUNS_DIR"] = str(Path(runs_dir).resolve())
    if celery_app is None and os.environ.get(BROKER_ENV):
        from app.celery_app import dash_app

        return dash_app

    app = dash.Dash(
        __name__,
        title="rnnviz",
        background_callback_manager=_manager(celery_app),
        assets_folder=str(Path(__file__).parent / "assets"),
    )
    cfg = settings()
    private_dir(cfg.cache_dir)
    sweep_stale(cfg.cache_dir)
    install_shipped(cfg.cache_dir)  # the default spec's first view, before any build
    # Refused before it is read: an upload arrives base64 in JSON (4/3 of its size).
    app.server.config["MAX_CONTENT_LENGTH"] = cfg.max_request_bytes
    app.server.config["MAX_FORM_MEMORY_SIZE"] = cfg.max_request_bytes
    app.layout = _layout
    for page in PAGES:
        page.register(app)
    app.callback(
        [Output(ids.PAGE_PREFIX + p.KEY, "style") for p in PAGES]
        + [Output(f"{ids.NAV}-{p.KEY}", "className") for p in PAGES],
        Input(ids.URL, "pathname"),
    )(show_page)
    return app


def _layout() -> Any:
    # A function: every page load reads the current samples, runs and settings.
    cfg = settings()
    return html.Div(
        [
            dcc.Location(id=ids.URL),
            # Per page load: makes each tab's background requests distinct jobs (issue: Dash
            # keys a job by its arguments and hands its result to the first reader only).
            dcc.Store(id=ids.NONCE, data=secrets.token_hex(8)),
            html.Div(
                className="header",
                children=[
                    html.Span("rnnviz", className="brand"),
                    html.Nav(
                        id=ids.NAV,
                        children=[
                            dcc.Link(p.TITLE, href=p.PATH, id=f"{ids.NAV}-{p.KEY}") for p in PAGES
                        ],
                    ),
                ],
            ),
            *[
                html.Div(id=ids.PAGE_PREFIX + p.KEY, className="page", children=p.layout(cfg))
                for p in PAGES
            ],
        ]
    )


def show_page(pathname: str | None) -> list[Any]:
    """Show the page whose PATH is the URL's (the Structure page for anything unknown)."""
    paths = [p.PATH for p in PAGES]
    current = pathname if pathname in paths else PAGES[0].PATH
    styles = [{} if current == p.PATH else {"display": "none"} for p in PAGES]
    classes = ["active" if current == p.PATH else "" for p in PAGES]
    return styles + classes
