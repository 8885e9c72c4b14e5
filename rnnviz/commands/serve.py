"""`rnnviz serve`: start the Dash dashboard (127.0.0.1:8050 unless told otherwise).

Local and service-free by default: background jobs run in local processes (DiskcacheManager),
builds are cached under --cache-dir, runs live in --runs-dir. For many users, serve with gunicorn
and Celery instead (README, "Dashboard").
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="start the dashboard")
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=8050)
    p.add_argument(
        "--cache-dir",
        help="where built graphs, reports and uploads are cached "
        "(default: $RNNVIZ_CACHE_DIR or ~/.cache/rnnviz)",
    )
    p.add_argument(
        "--runs-dir", help="the run store of the Training page (default: $RNNVIZ_RUNS_DIR or runs/)"
    )
    p.add_argument(
        "--no-prebuild",
        action="store_true",
        help="do not build the default spec at start (by default it is built in the background, "
        "so the first page shows it from the cache)",
    )
    p.add_argument("--debug", action="store_true", help="Dash debug mode (reloader, dev tools)")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from app.main import create_app
    from rnnviz.settings import settings

    settings()  # a bad RNNVIZ_* value stops here, in one line
    dash_app = create_app(cache_dir=args.cache_dir, runs_dir=args.runs_dir)
    if not args.no_prebuild:
        from app.jobs import prebuild
        from app.pages.structure import DEFAULT_SPEC, DEFAULT_STEPS

        prebuild(DEFAULT_SPEC, min(DEFAULT_STEPS, settings().max_steps))
    print(f"rnnviz dashboard on http://{args.host}:{args.port}/", flush=True)
    # One thread: Dash's local background manager forks a process per job, and a fork taken while
    # another request thread holds SQLite's mutex (diskcache, the run store) deadlocks the child.
    # Requests are short (jobs run in their own processes), so one thread serves many users.
    dash_app.run(host=args.host, port=args.port, debug=args.debug, threaded=False)
    return 0
