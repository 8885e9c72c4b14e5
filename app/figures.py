"""Pure functions from reports, structure views and run-store data to what Dash draws.

Each function takes plain data (report dicts, `rnnviz.structure.View`, metric rows, arrays) and
returns a plotly figure, cytoscape elements or small tables; no callbacks, no I/O, no TensorFlow.
The pages call them; the unit tests call them directly.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnviz.charts import KIND_NAMES, KIND_ORDER, fmt, get
from rnnviz.charts import compare_table as compare_table  # re-exported for the pages
from rnnviz.charts import report_charts as report_charts  # and app.panels
from rnnviz.structure import View

# ------------------------------------------------------------------------------------------------
# Structure (dash-cytoscape)

# Layers by hue (colour-blind-safe Tableau 10); a backward (bw) row keeps its layer's hue, lighter,
# with a dashed border and a "◀" in its label, so fw and bw read apart in colour and in shape.
_LAYER_COLOURS = ("#4e79a7", "#59a14f", "#9c755f", "#b07aa1", "#76b7b2", "#edc948")
_BW_COLOURS = ("#a0bbd8", "#a6d19c", "#cdb3a4", "#d8bcd2", "#b5d9d6", "#f5dfa0")
_ROLE_COLOURS = {
    "gradients": "#e15759",
    "optimizer": "#f28e2b",
    "initialization": "#bab0ac",
    "save_restore": "#bab0ac",
    "other": "#d4d4d4",
}
_INNER_COLOURS = {  # the parts of a cell and of a loop (level 1)
    "gate-sigmoid": "#8cd1c4",
    "gate-tanh": "#c5b0e8",
    "state": "#ffd37a",
    "matmul": "#c9d6e6",
    "weights": "#e2c9a8",
    "io": "#ffffff",
    "cond": "#ffb870",
    "var": "#fff3c4",
    "loopop": "#ffd59e",
    "innerloop": "#ffe7c2",
}
FAR_FONT_PX = 12  # on-screen size of labels when zoomed out (the JS keeps every label >= 11 px)

STYLESHEET: list[dict[str, Any]] = [
    {
        "selector": "node",
        "style": {
            "label": "data(label)",
            "text-wrap": "wrap",
            "text-valign": "center",
            "text-halign": "center",
            "font-size": 12,
            # Never draw a label smaller than 11 px on screen: explorer.js switches labels to
            # their short form or hides them first, this is the renderer's own guard.
            "min-zoomed-font-size": 11,
            "shape": "round-rectangle",
            "width": 150,
            "height": 76,
            "background-color": "#cfd8e3",
            "border-width": 1,
            "border-color": "#6b7b8c",
        },
    },
    {"selector": ".role", "style": {"background-color": "#e8e8e8", "width": 210}},
    {
        "selector": ".loop",
        "style": {"background-color": "#ffd59e", "border-width": 2, "width": 210, "height": 90},
    },
    # A block widened by the server so that its label is legible when the view is fitted.
    {"selector": "node[w]", "style": {"width": "data(w)"}},
    {"selector": "node[h]", "style": {"height": "data(h)"}},
    # The finer ranges (or steps) inside a range block: explorer.js shows them once zoomed in
    # far enough to read their labels (semantic zoom), the range's label then goes above it.
    {
        "selector": ".sub",
        "style": {
            "display": "none",
            "border-color": "#ffffff",
            "border-width": 1,
            "shape": "round-rectangle",
        },
    },
    {"selector": ".bw", "style": {"border-style": "dashed", "border-width": 3, "color": "#222"}},
    {
        "selector": ":parent",
        "style": {
            "background-opacity": 0.10,
            "text-valign": "top",
            "text-halign": "center",
            "font-weight": "bold",
            "border-style": "dashed",
            "padding": 24,
            # The title above the box takes clicks too: the sure place to click an open block.
            "text-events": "yes",
        },
    },
    {
        "selector": ".body, .cellbox",
        "style": {
            "background-color": "#fffbe6",
            "background-opacity": 0.5,
            "border-style": "solid",
        },
    },
    {
        "selector": ".op, .gate, .state, .matmul, .weights, .io, .cond, .var, .loopop, .innerloop, .more",
        "style": {
            "width": 150,
            "height": 46,
            "font-size": 11,
            "color": "#222",
            "shape": "round-rectangle",
        },
    },
    {"selector": ".op", "style": {"background-color": "#ffffff", "shape": "rectangle"}},
    {"selector": ".cond", "style": {"shape": "round-diamond", "width": 160, "height": 60}},
    {"selector": ".weights", "style": {"shape": "barrel", "height": 60}},
    {"selector": ".state", "style": {"width": 170, "font-weight": "bold"}},
    {"selector": ".loopop", "style": {"width": 330, "height": 36, "text-max-width": 320}},
    {
        "selector": ".more",
        "style": {"font-style": "italic", "background-color": "#f3f3f3", "width": 230},
    },
    {
        "selector": "edge",
        "style": {
            "width": "data(w)",
            "line-color": "#9aa5b1",
            "target-arrow-color": "#9aa5b1",
            "target-arrow-shape": "triangle",
            "curve-style": "bezier",
            "arrow-scale": 0.8,
        },
    },
    {"selector": "edge.weight", "style": {"line-style": "dotted"}},
    {
        "selector": "edge.back",
        "style": {
            "line-color": "#d62728",
            "target-arrow-color": "#d62728",
            "line-style": "dashed",
            "width": 3,
            "curve-style": "unbundled-bezier",
            "control-point-distances": [-140],
            "control-point-weights": [0.5],
            "label": "data(label)",
            "font-size": 12,
            "min-zoomed-font-size": 11,
            "color": "#d62728",
            "text-background-color": "#fff",
            "text-background-opacity": 0.8,
        },
    },
    {
        "selector": ".selected",
        "style": {"border-width": 4, "border-color": "#111", "border-style": "solid"},
    },
    {"selector": "node.hl", "style": {"border-width": 3, "border-color": "#e15759"}},
    {
        "selector": "edge.hl",
        "style": {"line-color": "#e15759", "target-arrow-color": "#e15759", "width": 3},
    },
    {
        "selector": ".found",
        "style": {"border-width": 4, "border-color": "#ff7f0e", "border-style": "double"},
    },
]
for _i, (_c, _b) in enumerate(zip(_LAYER_COLOURS, _BW_COLOURS, strict=True)):
    STYLESHEET.append(
        {"selector": f".layer{_i}", "style": {"background-color": _c, "color": "#fff"}}
    )
    STYLESHEET.append(
        {
            "selector": f".layer{_i}.bw",
            "style": {"background-color": _b, "border-color": _c, "color": "#222"},
        }
    )
for _role, _c in _ROLE_COLOURS.items():
    STYLESHEET.append({"selector": f".role-{_role}", "style": {"background-color": _c}})
for _cls, _c in _INNER_COLOURS.items():
    STYLESHEET.append({"selector": f".{_cls}", "style": {"background-color": _c}})
# An expanded block's title sits above its box, on the page background: dark text.
STYLESHEET.append({"selector": ":parent", "style": {"color": "#222"}})
# Selection and search marks win over the colour classes above.
STYLESHEET += [s for s in STYLESHEET[:] if s["selector"] in (".selected", "node.hl", ".found")]


def legend_items(layers: int = 3, bidirectional: bool = True) -> list[tuple[str, str, str]]:
    """(colour, border style, words) for every colour the panels use."""
    out = []
    for i in range(min(layers, len(_LAYER_COLOURS))):
        out.append((_LAYER_COLOURS[i], "solid", f"layer {i} forward (fw) step"))
        if bidirectional:
            out.append((_BW_COLOURS[i], "dashed", f"layer {i} backward (bw) step ◀"))
    out += [
        ("#ffd59e", "solid", "while loop"),
        ("#e8e8e8", "solid", "other forward ops (inputs, head, loss)"),
        (_ROLE_COLOURS["gradients"], "solid", "gradients"),
        (_ROLE_COLOURS["optimizer"], "solid", "optimizer"),
        (_ROLE_COLOURS["initialization"], "solid", "initialization, save/restore"),
        (_INNER_COLOURS["gate-sigmoid"], "solid", "gate σ (sigmoid)"),
        (_INNER_COLOURS["gate-tanh"], "solid", "candidate tanh"),
        (_INNER_COLOURS["state"], "solid", "state update (c, h)"),
        (_INNER_COLOURS["weights"], "solid", "weights read"),
        (_INNER_COLOURS["cond"], "solid", "loop condition / trip count"),
        (_INNER_COLOURS["var"], "solid", "loop variable (shape)"),
        ("#d62728", "dashed", "back edge (next iteration)"),
    ]
    return out


def _classes(node: Mapping[str, Any]) -> list[str]:
    kind = node["kind"]
    classes = [kind]
    if node.get("layer") is not None and kind in ("step", "sub"):
        classes.append(f"layer{node['layer'] % len(_LAYER_COLOURS)}")
    if node.get("direction") == "bw":
        classes.append("bw")
    if kind == "role" and node.get("role"):
        classes.append(f"role-{node['role']}")
    if kind == "gate":
        classes.append("gate-tanh" if "tanh" in node.get("label", "") else "gate-sigmoid")
    if node.get("expanded"):
        classes.append("expanded")
    return classes


def _tip(node: Mapping[str, Any]) -> str:
    if node.get("tip"):
        return str(node["tip"])
    if node["kind"] == "sub":
        where = f"layer {node['layer']}, {node['direction']}"
        return f"{node['label']}\n{where}, in {node['block']}\nclick the range's frame: open it"
    if node["kind"] in ("step", "role", "loop"):
        where = ""
        if node.get("layer") is not None:
            where = f"layer {node['layer']}, {node['direction']}, step {node.get('step')}\n"
        action = {0: "click: open", 1: "click the frame: show its ops", 2: "click the frame: close"}
        return f"{node['label']}\n{where}{action[node.get('level', 0)]}"
    return f"{node.get('op', '')} {node.get('name', '')}".strip()


def cyto_elements(view: View) -> list[dict[str, Any]]:
    """Cytoscape elements of a structure view, positions from the server (`preset` layout).

    Each node carries `label` (near), `short` (far-out label) and `tip` (hover text); explorer.js
    picks the label by zoom so that every label drawn is at least 11 px on screen."""
    out: list[dict[str, Any]] = []
    for node in view.nodes:
        data = {k: v for k, v in node.items() if k not in ("x", "y") and v is not None}
        data["tip"] = _tip(node)
        element: dict[str, Any] = {"data": data, "classes": " ".join(_classes(node))}
        if "x" in node and not node.get("expanded"):  # a compound takes its place from children
            element["position"] = {"x": node["x"], "y": node["y"]}
        out.append(element)
    for edge in view.edges:
        data = {k: v for k, v in edge.items() if k != "cls"}
        data["w"] = round(1 + math.log10(max(edge["n"], 1)), 2)
        element = {"data": data}
        if edge.get("cls"):
            element["classes"] = edge["cls"]
        out.append(element)
    return out


def view_summary(view: View) -> str:
    """One line under a panel: what is drawn and how it was reduced."""
    part = view.partition
    blocks = len(view.block_ids())
    text = f"{blocks} blocks, {view.n_elements} elements drawn for {part.n_nodes:,} nodes"
    if part.unrolled:
        text += f"; {part.time_steps} time steps"
        if view.group > 1:
            text += f" in ranges of {view.group}"
        if view.sub_group < view.group:
            finer = "single steps" if view.sub_group == 1 else f"ranges of {view.sub_group}"
            text += f" (zoom in for {finer})"
    if part.loops:
        text += f"; {len(part.loops)} while loop(s)"
    if view.hidden_edges:
        text += f"; {view.hidden_edges} edges inside blocks hidden (element cap)"
    return text


# ------------------------------------------------------------------------------------------------
# Training


def curves_figure(series: Mapping[str, Sequence[Mapping[str, Any]]]) -> go.Figure:
    """Loss and accuracy against step, one line per run (`series`: label -> metric row dicts)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss", "accuracy"))
    for label, rows in series.items():
        steps = [r["step"] for r in rows if r.get("loss") is not None]
        loss = [r["loss"] for r in rows if r.get("loss") is not None]
        fig.add_trace(go.Scatter(x=steps, y=loss, name=f"{label} loss", mode="lines"), 1, 1)
        acc = [
            (r["step"], r["train_accuracy"]) for r in rows if r.get("train_accuracy") is not None
        ]
        if acc:
            fig.add_trace(
                go.Scatter(x=[a for a, _ in acc], y=[b for _, b in acc], name=f"{label} train acc"),
                1,
                2,
            )
        test = [(r["step"], r["test_accuracy"]) for r in rows if r.get("test_accuracy") is not None]
        if test:
            fig.add_trace(
                go.Scatter(
                    x=[a for a, _ in test],
                    y=[b for _, b in test],
                    name=f"{label} test acc",
                    mode="markers",
                    marker={"size": 10, "symbol": "star"},
                ),
                1,
                2,
            )
    fig.update_xaxes(title_text="training step")
    fig.update_yaxes(title_text="cross-entropy loss", row=1, col=1)
    fig.update_yaxes(title_text="accuracy (0..1)", row=1, col=2)
    if not series:
        fig.add_annotation(
            text="tick a run above to see its curves",
            showarrow=False,
            x=0.5,
            y=0.5,
            xref="paper",
            yref="paper",
        )
    fig.update_layout(height=320, margin={"t": 40, "b": 40, "l": 50, "r": 10}, uirevision="curves")
    return fig


def activation_keys(acts: Mapping[tuple[int, str, str], Any]) -> list[tuple[int, str]]:
    """(layer, direction) rows present in a snapshot, in order."""
    return sorted({(k[0], k[1]) for k in acts}, key=lambda r: (r[0], r[1] != "fw"))


# What each recorded kind is the output of (rnnviz.cells records the activation, not the
# pre-activation): sigmoid gates live in 0..1, tanh outputs (the LSTM candidate j, and h, which is
# tanh(c) * o or a GRU/basic RNN's tanh output) in -1..1; c is a running sum, unbounded.
KIND_ACTIVATION = {
    "i": "sigmoid",
    "f": "sigmoid",
    "o": "sigmoid",
    "r": "sigmoid",
    "u": "sigmoid",
    "j": "tanh",
    "h": "tanh",
    "c": "linear",
}
_SCALES = {"sigmoid": "Viridis", "tanh": "RdBu_r", "linear": "RdBu_r"}


def colour_range(kind: str, arrays: Iterable[np.ndarray]) -> tuple[float, float]:
    """The colour range of one kind's heatmaps in a snapshot: the activation's own range, fixed so
    that a change between refreshes is a change in the model, not in the scale; an unbounded kind
    (c) symmetric around 0 by its largest magnitude over all layers. A tanh kind whose values leave
    -1..1 (h after an LSTM projection) widens the same way, so no value is clipped."""
    activation = KIND_ACTIVATION.get(kind, "linear")
    if activation == "sigmoid":
        return 0.0, 1.0
    biggest = max((float(np.max(np.abs(a))) for a in arrays if np.size(a)), default=0.0)
    if activation == "tanh" and biggest <= 1.0:
        return -1.0, 1.0
    bound = biggest if biggest > 0 else 1.0
    return -bound, bound


def _range_text(kind: str, zmin: float, zmax: float) -> str:
    activation = KIND_ACTIVATION.get(kind, "linear")
    if activation == "sigmoid":
        return "sigmoid 0..1"
    if activation == "tanh" and zmax == 1.0:
        return "tanh -1..1"
    return f"±{zmax:.2g} (largest |{kind}|)"


def _column_colourbar(
    col: int, cols: int, kind: str, zrange: tuple[float, float], spacing: float, above: float
) -> dict[str, Any]:
    """A horizontal colour bar over column `col` (0-based) of a grid of `cols` heatmaps, `above`
    (paper units) over the plots: read before the heatmaps, without scrolling."""
    width = (1 - spacing * (cols - 1)) / cols
    return {
        "orientation": "h",
        "x": col * (width + spacing) + width / 2,
        "xanchor": "center",
        "y": 1 + above,
        "yanchor": "bottom",
        "len": width * 0.95,
        "thickness": 10,
        "title": {"text": _range_text(kind, *zrange), "side": "top", "font": {"size": 11}},
        "tickfont": {"size": 10},
    }


def heatmaps_figure(acts: Mapping[tuple[int, str, str], np.ndarray], title: str = "") -> go.Figure:
    """Time step x unit heatmaps: one row per layer/direction, one column per kind (h, c, gates),
    with one colour bar per column (all layers of a kind share its range, see `colour_range`).

    `acts` maps (layer, direction, kind) to one sample's [T, units] array."""
    rows = activation_keys(acts)
    kinds = [k for k in KIND_ORDER if any(key[2] == k for key in acts)]
    if not rows or not kinds:
        fig = go.Figure()
        fig.update_layout(
            height=200,
            annotations=[{"text": "no activation snapshot yet", "showarrow": False}],
            xaxis={"visible": False},
            yaxis={"visible": False},
        )
        return fig
    spacing = 0.025
    top, bottom = 120, 56
    height = max(220 * len(rows), 260) + top + bottom - 50
    above = 26 / (height - top - bottom)  # over the first row's subplot titles
    fig = make_subplots(
        rows=len(rows),
        cols=len(kinds),
        subplot_titles=[f"L{r[0]} {r[1]} {KIND_NAMES.get(k, k)}" for r in rows for k in kinds],
        horizontal_spacing=spacing,
        vertical_spacing=0.08 if len(rows) > 1 else 0.1,
    )
    for j, kind in enumerate(kinds):
        zmin, zmax = colour_range(kind, (np.asarray(v) for k, v in acts.items() if k[2] == kind))
        shown = False
        for i, (layer, direction) in enumerate(rows):
            arr = acts.get((layer, direction, kind))
            if arr is None:
                continue
            fig.add_trace(
                go.Heatmap(
                    z=np.asarray(arr),
                    zmin=zmin,
                    zmax=zmax,
                    colorscale=_SCALES[KIND_ACTIVATION.get(kind, "linear")],
                    showscale=not shown,
                    colorbar=_column_colourbar(j, len(kinds), kind, (zmin, zmax), spacing, above),
                    name=f"L{layer} {direction} {kind}",
                    hovertemplate=f"L{layer} {direction} {KIND_NAMES.get(kind, kind)}<br>"
                    "step %{y}, unit %{x}<br>value %{z:.4f}<extra></extra>",
                ),
                i + 1,
                j + 1,
            )
            shown = True
    fig.update_yaxes(autorange="reversed", title_text="")
    fig.update_yaxes(title_text="time step", col=1)
    # One axis note for the grid (an x title per subplot collides with the tick labels).
    fig.add_annotation(
        text="x: unit (hidden-state index)",
        showarrow=False,
        x=0.5,
        y=0,
        yshift=-34,
        xref="paper",
        yref="paper",
        yanchor="top",
        font={"size": 11},
    )
    fig.update_layout(
        height=height,
        margin={"t": top, "b": bottom, "l": 50, "r": 10},
        title={"text": title, "x": 0.01},
        uirevision="heatmaps",
    )
    fig.update_annotations(font_size=10)
    return fig


def digit_figure(x: np.ndarray, label: Any = None) -> go.Figure:
    """The probe sample as an image: rows are time steps, columns the features of each step."""
    arr = np.asarray(x)
    fig = go.Figure(go.Heatmap(z=arr, colorscale="Greys", showscale=False))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", title_text="time step")
    fig.update_xaxes(title_text="feature")
    fig.update_layout(
        height=260,
        width=260,
        margin={"t": 30, "b": 30, "l": 40, "r": 10},
        title={"text": f"label {label}" if label is not None else "", "x": 0.5},
    )
    return fig


def run_label(run: Any) -> str:
    """A run as a person tells runs apart: spec, data and start time (the id stays in the table)."""
    started = time.strftime("%m-%d %H:%M:%S", time.localtime(run.created))
    data = run.data_source.split(" (")[0]  # "digits (scikit-learn load_digits)" -> "digits"
    return f"{run.model} · {data} · {started}"


def _test_accuracy_text(run: Any) -> str:
    """The test accuracy, or why there is none yet."""
    if run.test_accuracy is not None:
        return f"{run.test_accuracy:.3f}"
    if run.status == "running":
        return "after the last step"
    if run.status == "stopped":
        return (
            f"none: stopped at step {run.steps_done} before the test pass "
            f"(rnnviz train --resume {run.id} finishes it)"
        )
    if run.status == "failed":
        return f"none: {run.error or 'the run failed'}"
    return "none"


def runs_rows(runs: Iterable[Any]) -> list[dict[str, Any]]:
    """Rows of the runs table from `RunInfo`s."""
    out = []
    for r in runs:
        target = r.target_steps
        out.append(
            {
                "id": r.id,
                "run": run_label(r),
                "status": r.status,
                "steps": f"{r.steps_done}/{target}" if target else str(r.steps_done),
                "test accuracy": _test_accuracy_text(r),
                "seconds": f"{r.train_seconds:.0f}",
            }
        )
    return out


# ------------------------------------------------------------------------------------------------
# Report: tables and charts live in rnnviz.charts (the offline HTML export draws the same ones);
# the pages reach them through this module.


def panel_stats(report: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """The key figures beside a structure panel: nodes, parameters, per-step states, bytes."""
    if not report:
        return []
    rows = [
        ("nodes", get(report, "ops", "total")),
        ("ops in loop bodies", get(report, "ops", "function_ops") or None),
        ("parameters", get(report, "params", "total")),
        ("fetchable per-step states", get(report, "states", "per_step")),
        ("GraphDef bytes", get(report, "sizes", "graphdef_bytes")),
        ("unrolled steps", get(report, "unrolled_steps")),
        ("while loops", len(report.get("loops") or ())),
    ]
    return [{"what": k, "value": fmt(v)} for k, v in rows if v is not None]
