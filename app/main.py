"""The Dash app factory: `create_app()` makes the app (pages come with the dashboard issue)."""

from __future__ import annotations

import dash
from dash import html

from rnnviz.spec import load_spec, sample_names


def create_app() -> dash.Dash:
    app = dash.Dash(__name__, title="rnnviz")
    app.layout = html.Div(
        [
            html.H1("rnnviz"),
            html.P("Sample models:"),
            html.Ul(
                [
                    html.Li(f"{n}: {load_spec(n).description}", id=f"sample-{n}")
                    for n in sample_names()
                ]
            ),
        ]
    )
    return app
