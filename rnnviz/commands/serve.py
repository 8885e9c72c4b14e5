"""`rnnviz serve`: start the Dash dashboard (127.0.0.1:8050 unless told otherwise)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="start the dashboard")
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=8050)
    p.add_argument("--debug", action="store_true", help="Dash debug mode (reloader, dev tools)")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from app.main import create_app

    dash_app = create_app()
    print(f"rnnviz dashboard on http://{args.host}:{args.port}/")
    dash_app.run(host=args.host, port=args.port, debug=args.debug)
    return 0
