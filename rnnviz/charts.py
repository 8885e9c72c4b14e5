"""The graph report drawn for people: labelled tables and plotly charts from report dicts.

Shared by the dashboard (Report and Open-a-file pages) and the offline HTML export
(`rnnviz.html`), so both show the same labels, units and charts. Input is what `to_dict()` gives
(`GraphReport`, `Comparison`) plus what a build measured beside the report (build seconds,
SavedModel bytes); output is table rows and `plotly.graph_objects.Figure`s.

Not here: computing any figure (rnnviz.reporting), Dash components or callbacks (app/), TensorFlow.
Units: MB are 10^6 bytes, MFLOP 10^6 floating-point operations, s seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

Report = Mapping[str, Any]

# Human label of each figure the comparison knows, and how a value is shown: (label, scale, unit).
# A figure not listed here (a newer report field) is shown under its key, unscaled.
FIGURES: dict[str, tuple[str, float, str]] = {
    "ops.total": ("graph nodes (main graph)", 1, "nodes"),
    "ops.function_ops": ("nodes inside loop-body functions", 1, "nodes"),
    "ops.data_edges": ("data edges", 1, "edges"),
    "ops.control_edges": ("control edges", 1, "edges"),
    "ops.forward": ("forward-pass nodes", 1, "nodes"),
    "ops.gradients": ("gradient nodes", 1, "nodes"),
    "params.total": ("parameters", 1, ""),
    "params.recurrent": ("parameters of the recurrent cells", 1, ""),
    "params.bytes": ("parameter memory", 1e6, "MB"),
    "unrolled_steps": ("unrolled time steps", 1, "steps"),
    "timesteps.ops_per_step": ("nodes per unrolled step", 1, "nodes"),
    "states.per_step": ("fetchable per-step state tensors", 1, "tensors"),
    "states.loop_exits": ("tensors leaving a while loop", 1, "tensors"),
    "loops": ("while loops", 1, ""),
    "loops.body_ops": ("nodes in loop bodies", 1, "nodes"),
    "sizes.graphdef_bytes": ("GraphDef size", 1e6, "MB"),
    "sizes.saved_model_bytes": ("SavedModel size, graph + variables", 1e6, "MB"),
    "flops.forward_per_sequence": ("forward FLOPs per sequence", 1e6, "MFLOP"),
    "flops.tfprof": ("tfprof float ops", 1e6, "MFLOP"),
    "memory.peak_bytes": ("peak memory of one training step", 1e6, "MB"),
    "build_seconds": ("graph build time", 1, "s"),
}
# What a build measures beside the report (app/jobs.py's meta), by the figure it fills.
MEASURED = {"sizes.saved_model_bytes": "saved_model_bytes", "build_seconds": "build_seconds"}

KIND_NAMES = {
    "h": "h (output)",
    "c": "c (cell state)",
    "i": "i (input gate)",
    "j": "j (candidate)",
    "f": "f (forget gate)",
    "o": "o (output gate)",
    "r": "r (reset gate)",
    "u": "u (update gate)",
}
KIND_ORDER = tuple(KIND_NAMES)


def get(report: Any, *path: str) -> Any:
    """`report[a][b]...`, None where a key is missing."""
    value: Any = report
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def fmt(value: Any, scale: float = 1) -> str:
    """A number as a person reads it: thousands separated, 3 significant digits below 1000."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    value = value / scale
    if float(value).is_integer() and abs(value) >= 1:
        return f"{int(value):,}"
    return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def label(figure: str) -> str:
    """'GraphDef size (MB)': the figure's human label with its unit."""
    name, _, unit = FIGURES.get(figure, (figure, 1, ""))
    return (
        f"{name} ({unit})" if unit and unit not in ("nodes", "edges", "tensors", "steps") else name
    )


# ------------------------------------------------------------------------------------------------
# Tables

RATIO = "static / dynamic"


def compare_table(
    comparison: Report | None, builds: Mapping[str, Mapping[str, Any]] | None = None
) -> list[dict[str, str]]:
    """Rows of the comparison table: figure (with unit), static, dynamic, static / dynamic.

    `builds["static"|"dynamic"]`: what the build measured, filling what the reports leave empty."""
    builds = builds or {}
    rows, seen = [], set()
    for row in get(comparison, "rows") or ():
        figure = str(row["figure"])
        seen.add(figure)
        a, b = row.get("a"), row.get("b")
        if figure in MEASURED and a is None and b is None:
            a, b = (builds.get(w, {}).get(MEASURED[figure]) for w in ("static", "dynamic"))
        rows.append(_row(figure, a, b))
    for figure, key in MEASURED.items():
        a, b = (builds.get(w, {}).get(key) for w in ("static", "dynamic"))
        if figure not in seen and a is not None and b is not None:
            rows.append(_row(figure, a, b))
    return rows


def _row(figure: str, a: Any, b: Any) -> dict[str, str]:
    scale = FIGURES.get(figure, (figure, 1, ""))[1]
    ratio = a / b if a and b else None  # 0 on either side: no ratio worth reading
    return {
        "figure": label(figure),
        "static": fmt(a, scale),
        "dynamic": fmt(b, scale),
        RATIO: "-" if ratio is None else f"{ratio:,.3g}×",
    }


def summary_table(report: Report) -> list[dict[str, str]]:
    """Rows (figure, value) of one report: the figures of `FIGURES` it has."""
    getters: dict[str, Callable[[Report], Any]] = {
        "ops.total": lambda r: get(r, "ops", "total"),
        "ops.function_ops": lambda r: get(r, "ops", "function_ops") or None,
        "ops.forward": lambda r: get(r, "ops", "by_role", "forward"),
        "ops.gradients": lambda r: get(r, "ops", "by_role", "gradients"),
        "params.total": lambda r: get(r, "params", "total"),
        "params.bytes": lambda r: get(r, "params", "bytes"),
        "unrolled_steps": lambda r: get(r, "unrolled_steps") or None,
        "states.per_step": lambda r: get(r, "states", "per_step"),
        "states.loop_exits": lambda r: len(get(r, "states", "loop_exits") or ()) or None,
        "loops": lambda r: len(get(r, "loops") or ()) or None,
        "sizes.graphdef_bytes": lambda r: get(r, "sizes", "graphdef_bytes"),
        "sizes.saved_model_bytes": lambda r: get(r, "sizes", "saved_model_bytes"),
        "flops.forward_per_sequence": lambda r: get(r, "flops", "forward_per_sequence"),
        "memory.peak_bytes": lambda r: get(r, "memory", "peak_bytes"),
    }
    rows = []
    for figure, read in getters.items():
        value = read(report)
        if value is not None:
            rows.append({"figure": label(figure), "value": fmt(value, FIGURES[figure][1])})
    return rows


# ------------------------------------------------------------------------------------------------
# Chart data


def gate_params(report: Report) -> dict[str, int]:
    """Parameters per gate over all cells: a gate owns its column slice of a kernel or bias."""
    out: dict[str, int] = {}
    for var in get(report, "params", "variables") or ():
        shape = list(var.get("shape") or ())
        rows = 1
        for dim in shape[:-1]:
            rows *= int(dim or 1)
        for g in var.get("gates") or ():
            name = KIND_NAMES.get(g["gate"], g["gate"])
            out[name] = out.get(name, 0) + rows * (int(g["stop"]) - int(g["start"]))
    return out


def layer_params(report: Report) -> dict[str, int]:
    """Parameters per (layer, direction), input side first, fw before bw."""
    return {
        f"layer {r['layer']} {r['direction']} {r.get('cell', '')}".strip(): int(r["count"])
        for r in order_layers(get(report, "params", "by_layer") or ())
    }


def ops_by_type(report: Report) -> dict[str, int]:
    """Op types of the graph and of its functions (a v2 loop's body lives in a function)."""
    out = dict(get(report, "ops", "by_type") or {})
    for k, v in (get(report, "ops", "function_by_type") or {}).items():
        out[k] = out.get(k, 0) + v
    return out


def states_by_kind(report: Report) -> dict[str, int]:
    counts = get(report, "states", "by_kind") or {}
    return {KIND_NAMES.get(k, k): counts[k] for k in _kind_sorted(counts)}


def _kind_sorted(keys: Any) -> list[str]:
    return sorted(keys, key=lambda k: (KIND_ORDER.index(k) if k in KIND_ORDER else 99, k))


def sizes_mb(report: Report, build: Mapping[str, Any] | None = None) -> dict[str, float]:
    """Everything of the report measured in bytes, in MB (`build`: what the build measured)."""
    build = build or {}
    values = {
        "GraphDef": get(report, "sizes", "graphdef_bytes"),
        "SavedModel": get(report, "sizes", "saved_model_bytes") or build.get("saved_model_bytes"),
        "parameters": get(report, "params", "bytes"),
        "peak memory, one training step": get(report, "memory", "peak_bytes"),
    }
    return {k: v / 1e6 for k, v in values.items() if v is not None}


# ------------------------------------------------------------------------------------------------
# Charts


def bars_figure(
    title: str,
    series: Mapping[str, Mapping[str, float]],
    *,
    x_title: str,
    y_title: str,
    top: int | None = None,
    log: bool = False,
    keep_order: bool = False,
) -> go.Figure:
    """Grouped bars, one colour per series (static / dynamic / a file), one unit on the y axis.

    Categories are sorted by total, largest first, unless `keep_order` (layers, gates)."""
    cats: list[str] = []
    totals: dict[str, float] = {}
    for values in series.values():
        for k, v in values.items():
            if k not in totals:
                cats.append(k)
            totals[k] = totals.get(k, 0) + float(v or 0)
    if not keep_order:
        cats.sort(key=lambda k: -totals[k])
    cats = cats[:top] if top is not None else cats
    fig = go.Figure(
        [
            go.Bar(
                name=name,
                x=cats,
                y=[values.get(c, 0) for c in cats],
                hovertemplate=f"%{{x}}<br>{name}: %{{y:,.4~g}} {y_title}<extra></extra>",
            )
            for name, values in series.items()
        ]
    )
    fig.update_layout(
        title={"text": title, "x": 0.01},
        barmode="group",
        height=340,
        margin={"t": 50, "b": 60, "l": 70, "r": 10},
        legend={"orientation": "h", "y": 1.14, "x": 1, "xanchor": "right"},
        showlegend=len(series) > 1,
    )
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title + (" (log scale)" if log else ""))
    if log:
        fig.update_yaxes(type="log")
    return fig


def report_charts(
    reports: Mapping[str, Report], builds: Mapping[str, Mapping[str, Any]] | None = None
) -> list[tuple[str, go.Figure]]:
    """(id suffix, figure) of every chart of a report page, for one or more reports.
    `builds`: per report, what the build measured (build_seconds, saved_model_bytes)."""
    bs = builds or {}

    def each(fn: Callable[[Report], Mapping[str, float]]) -> dict[str, Mapping[str, float]]:
        return {k: fn(r) for k, r in reports.items()}

    charts = [
        ("roles", bars_figure("Graph nodes by role", each(lambda r: get(r, "ops", "by_role") or {}), x_title="role", y_title="nodes")),
        ("types", bars_figure("Node types (top 20, loop bodies included)", each(ops_by_type), x_title="op type", y_title="nodes", top=20, log=True)),
        ("layers", bars_figure("Parameters by layer", each(layer_params), x_title="layer, direction, cell", y_title="parameters", keep_order=True)),
        ("gates", bars_figure("Parameters by gate", each(gate_params), x_title="gate", y_title="parameters", keep_order=True)),
        ("states", bars_figure("Fetchable per-step state tensors by kind", each(states_by_kind), x_title="kind", y_title="tensors", keep_order=True)),
        ("sizes", bars_figure("Sizes and memory", {k: sizes_mb(r, bs.get(k)) for k, r in reports.items()}, x_title="what", y_title="MB", keep_order=True)),
    ]  # fmt: skip
    flops = each(
        lambda r: _one("forward per sequence", get(r, "flops", "forward_per_sequence"), 1e6)
    )
    charts.append(("flops", bars_figure("Forward FLOPs per sequence (batch 1)", flops, x_title="", y_title="MFLOP")))  # fmt: skip
    seconds = {k: _one("build", (bs.get(k) or {}).get("build_seconds"), 1) for k in reports}
    charts.append(("build", bars_figure("Graph build time", seconds, x_title="", y_title="s")))
    # A chart with nothing to show (no per-step states in a loop graph, no build time of a file)
    # is left out rather than drawn as empty axes.
    return [(name, fig) for name, fig in charts if any(len(t.x) for t in fig.data)]


def _one(name: str, value: Any, scale: float) -> dict[str, float]:
    return {} if value is None else {name: value / scale}


def order_layers(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Per-layer rows input side first, fw before bw (the report lists them as it met them)."""
    return sorted(rows, key=lambda r: (int(r["layer"]), r["direction"] != "fw"))


__all__ = [
    "FIGURES",
    "KIND_NAMES",
    "KIND_ORDER",
    "RATIO",
    "bars_figure",
    "compare_table",
    "fmt",
    "gate_params",
    "get",
    "label",
    "layer_params",
    "ops_by_type",
    "order_layers",
    "report_charts",
    "sizes_mb",
    "summary_table",
]
