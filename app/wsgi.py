"""WSGI entry point and the multi-process server of `rnnviz serve`.

`gunicorn -w 4 -b 127.0.0.1:8050 app.wsgi:server` (plus the request limits of the README), or
`rnnviz serve`, which runs the same thing through `serve()`: several single-threaded sync
worker processes, so one slow callback (a report's charts) never holds up another tab's panels.

Why processes, not threads: the local background manager forks per job, and a fork taken while
another thread holds SQLite's mutex (diskcache, the run store) deadlocks the child.
With RNNVIZ_CELERY_BROKER set, background callbacks go to Celery workers (app/celery_app.py).
The request body cap is Flask's MAX_CONTENT_LENGTH (app/main.py); gunicorn caps the rest.
"""

from __future__ import annotations

from typing import Any

# Request line and headers: a callback URL carries three signed handles (< 1 kB).
LIMITS = {"limit_request_line": 4094, "limit_request_fields": 50, "limit_request_field_size": 8190}


def __getattr__(name: str) -> Any:
    # `app.wsgi:server` for gunicorn, built on first use (importing this module for `serve`
    # must not build an app in the master process).
    if name in ("app", "server"):
        from app.main import create_app

        dash_app = create_app()
        globals().update(app=dash_app, server=dash_app.server)
        return globals()[name]
    raise AttributeError(name)


def serve(host: str, port: int, workers: int) -> None:
    """Serve the dashboard with `workers` gunicorn sync worker processes (blocks)."""
    from gunicorn.app.base import BaseApplication

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options = {
                "bind": f"{host}:{port}",
                "workers": workers,
                "worker_class": "sync",
                "timeout": 300,  # a large upload's JSON is parsed in the request
                "graceful_timeout": 10,
                **LIMITS,
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from app.main import create_app

            return create_app().server

    _Server().run()
