"""A graph report as one self-contained HTML file: tables, charts and the structure view, offline.

What it is for: `rnnviz report FILE --html OUT.html` and a notebook's display of a `GraphReport`
(`_repr_html_`). The file needs no server and no network: plotly's JavaScript is inlined once,
the structure view is an SVG drawn here from the positions `rnnviz.structure` computed, and there
are no external fonts, images or links to load. Attach it to an issue or open it on a plane.

What it is not: it computes nothing. It reads the report (its `to_dict()` form) and, when given,
a `rnnviz.structure.View`; labels, units and charts come from `rnnviz.charts`, as on the
dashboard's Report page. Imported lazily (plotly is only loaded when a page is written).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rnnviz import charts

__all__ = ["render_html", "structure_svg"]

Report = Mapping[str, Any]

# Block size in the view's coordinates (the dashboard's cytoscape style draws blocks this size).
BLOCK_W, BLOCK_H = 130, 60
OP_W, OP_H = 130, 30
# Fill colours by block kind / layer / role; the dashboard's legend uses the same meanings.
LAYER_FILLS = ("#4e79a7", "#59a14f", "#9c755f", "#b07aa1", "#76b7b2", "#edc948")
ROLE_FILLS = {"gradients": "#e15759", "optimizer": "#f28e2b", "loop": "#ffd59e"}
PLAIN_FILL = "#d4d4d4"

_CSS = """
.rnnviz-report { font-family: system-ui, sans-serif; color: #222; max-width: 1500px; }
.rnnviz-report h1 { font-size: 22px; margin: 8px 0; }
.rnnviz-report h2 { font-size: 18px; margin: 20px 0 6px; border-bottom: 1px solid #d6dde5; }
.rnnviz-report table { border-collapse: collapse; font-size: 13px; margin: 4px 0 8px; }
.rnnviz-report td, .rnnviz-report th { border: 1px solid #d6dde5; padding: 2px 8px; text-align: left; }
.rnnviz-report td.num { text-align: right; font-variant-numeric: tabular-nums; }
.rnnviz-report .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 8px; }
.rnnviz-report .structure { overflow: auto; max-height: 720px; border: 1px solid #d6dde5; }
.rnnviz-report .note { color: #444; font-size: 14px; max-width: 1000px; }
.rnnviz-report .legend span { display: inline-block; margin-right: 14px; font-size: 13px; }
.rnnviz-report .legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(
    header: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Iterable[int] = ()
) -> str:
    nums = set(numeric)
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{_e(v)}</td>' if i in nums else f"<td>{_e(v)}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# ------------------------------------------------------------------------------------------------
# The structure view as SVG


def _fill(node: Mapping[str, Any]) -> tuple[str, str]:
    """(fill, text colour) of a drawn block."""
    kind = node.get("kind")
    if kind == "step" and node.get("layer") is not None:
        return LAYER_FILLS[int(node["layer"]) % len(LAYER_FILLS)], "#fff"
    if kind == "loop":
        return ROLE_FILLS["loop"], "#222"
    if kind in ("op", "more"):
        return "#ffffff", "#222"
    return ROLE_FILLS.get(str(node.get("role")), PLAIN_FILL), "#222"


def _node_svg(node: Mapping[str, Any]) -> str:
    small = node.get("kind") in ("op", "more")
    w, h = (OP_W, OP_H) if small else (BLOCK_W, BLOCK_H)
    x, y = float(node["x"]) - w / 2, float(node["y"]) - h / 2
    fill, ink = _fill(node)
    label = str(node.get("label", node.get("id", "")))
    size = 9 if small else 11
    fits = int(w / (size * 0.6))  # characters of a line that fit in the box
    lines = [ln if len(ln) <= fits else "…" + ln[-(fits - 1) :] for ln in label.split("\n")]
    top = float(node["y"]) - (len(lines) - 1) * (size + 2) / 2
    text = "".join(
        f'<tspan x="{node["x"]}" y="{top + i * (size + 2):.1f}">{_e(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    dash = ' stroke-dasharray="4 3"' if node.get("kind") == "loop" else ""
    return (
        f'<g class="block" data-id="{_e(node.get("id", ""))}"><title>{_e(label)}</title>'
        f"<rect x='{x:.1f}' y='{y:.1f}' width='{w}' height='{h}' rx='8' fill='{fill}' "
        f"stroke='#6b7b8c'{dash}/><text font-size='{size}' fill='{ink}' text-anchor='middle' "
        f"dominant-baseline='middle'>{text}</text></g>"
    )


def structure_svg(view: Any) -> str:
    """An SVG of a structure view (nodes with server-side positions; expanded blocks are drawn
    as their ops). Edge width grows with the number of tensors a block edge stands for."""
    nodes = [n for n in view.nodes if not n.get("expanded") and "x" in n]
    if not nodes:
        return "<p class='note'>No blocks to draw.</p>"
    where = {n["id"]: (float(n["x"]), float(n["y"])) for n in nodes}
    pad = 20
    left = min(x for x, _ in where.values()) - BLOCK_W / 2 - pad
    top = min(y for _, y in where.values()) - BLOCK_H / 2 - pad
    width = max(x for x, _ in where.values()) + BLOCK_W / 2 + pad - left
    height = max(y for _, y in where.values()) + BLOCK_H / 2 + pad - top
    lines = []
    for edge in view.edges:
        a, b = where.get(edge["source"]), where.get(edge["target"])
        if a is None or b is None:
            continue
        w = 1 + len(str(max(int(edge.get("n", 1)), 1))) * 0.6
        lines.append(
            f"<line x1='{a[0]:.1f}' y1='{a[1]:.1f}' x2='{b[0]:.1f}' y2='{b[1]:.1f}' "
            f"stroke='#9aa5b1' stroke-width='{w:.1f}' marker-end='url(#arrow)'>"
            f"<title>{_e(edge['source'])} → {_e(edge['target'])}: {edge.get('n', 1)} tensor(s)</title></line>"
        )
    arrow = (
        "<defs><marker id='arrow' viewBox='0 0 10 10' refX='10' refY='5' markerWidth='6' "
        "markerHeight='6' orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' "
        "fill='#9aa5b1'/></marker></defs>"
    )
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width:.0f}' height='{height:.0f}' "
        f"viewBox='{left:.1f} {top:.1f} {width:.1f} {height:.1f}'>{arrow}{''.join(lines)}"
        f"{''.join(_node_svg(n) for n in nodes)}</svg>"
    )


def _legend(view: Any) -> str:
    rows = sorted({(n["layer"], n.get("direction")) for n in view.nodes if n.get("kind") == "step"})
    items = [
        (LAYER_FILLS[int(layer) % len(LAYER_FILLS)], f"layer {layer} {direction or ''} step")
        for layer, direction in rows
    ]
    if any(n.get("kind") == "loop" for n in view.nodes):
        items.append((ROLE_FILLS["loop"], "while loop (body inside)"))
    items += [(ROLE_FILLS["gradients"], "gradients"), (ROLE_FILLS["optimizer"], "optimizer")]
    items.append((PLAIN_FILL, "other roles"))
    spans = "".join(f"<span><i style='background:{c}'></i>{_e(t)}</span>" for c, t in items)
    return f"<div class='legend'>{spans}</div>"


# ------------------------------------------------------------------------------------------------
# Sections


def _header(r: Report, title: str | None) -> str:
    source = str(r.get("source") or "")
    name = title or f"Graph report: {r.get('model') or source.rstrip('/').rsplit('/', 1)[-1]}"
    facts = [
        ("source", r.get("source")),
        ("kind", r.get("source_kind")),
        ("unrolled as", r.get("unroll") or "unknown"),
        ("recurrent", "yes" if r.get("recurrent") else "no"),
    ]
    return f"<h1>{_e(name)}</h1>" + _table(("", ""), facts)


def _words(r: Report) -> str:
    texts = [
        ("States", charts.get(r, "states", "summary")),
        ("FLOPs", charts.get(r, "flops", "note")),
        ("Memory", charts.get(r, "memory", "note")),
        *(("Note", n) for n in r.get("notes") or ()),
    ]
    return "".join(f"<p class='note'><b>{h}:</b> {_e(t)}</p>" for h, t in texts if t)


def _layers(r: Report) -> str:
    rows = [
        (f"layer {row['layer']}", row["direction"], row.get("cell", ""), f"{int(row['count']):,}")
        for row in charts.order_layers(charts.get(r, "params", "by_layer") or ())
    ]
    if not rows:
        return ""
    return "<h2>Parameters by layer</h2>" + _table(
        ("layer", "direction", "cell", "parameters"), rows, numeric=(3,)
    )


def _loops(r: Report) -> str:
    loops = r.get("loops") or ()
    if not loops:
        return ""
    rows = [
        (
            lp["name"],
            lp.get("kind", ""),
            lp.get("role", ""),
            "unknown" if lp.get("trip_count") is None else f"{lp['trip_count']:,}",
            f"{int(lp.get('body_ops') or 0):,}",
            len(lp.get("loop_vars") or ()),
            lp.get("swap_memory"),
        )
        for lp in loops
    ]
    header = ("loop", "kind", "role", "trip count", "body ops", "loop variables", "swap_memory")
    return "<h2>While loops</h2>" + _table(header, rows, numeric=(3, 4, 5))


def _charts(r: Report, name: str) -> str:
    config = {"displaylogo": False, "responsive": True}
    divs = [
        fig.to_html(full_html=False, include_plotlyjs=False, config=config)
        for _, fig in charts.report_charts({name: r})
    ]
    return (
        "<h2>Charts</h2><div class='charts'>" + "".join(f"<div>{d}</div>" for d in divs) + "</div>"
    )


def render_html(
    report: Any, view: Any = None, *, title: str | None = None, full_page: bool = True
) -> str:
    """The report (a `GraphReport` or its `to_dict()`) and, if given, its structure `View` as
    HTML with everything inlined. `full_page=False` gives a fragment (for a notebook cell)."""
    import plotly.offline

    r: Report = report.to_dict() if hasattr(report, "to_dict") else report
    name = str(r.get("model") or r.get("unroll") or "graph")
    rows = [(row["figure"], row["value"]) for row in charts.summary_table(r)]
    parts = [
        _header(r, title),
        "<h2>Summary</h2>" + _table(("figure", "value"), rows, numeric=(1,)),
        _words(r),
    ]
    if view is not None:
        parts.append(
            "<h2>Structure</h2><p class='note'>Blocks: one per layer, direction and time step of an "
            "unrolled graph, one per while loop, one per role of the other ops; edges carry the "
            "number of tensors between blocks (hover for it).</p>"
            + _legend(view)
            + f"<div class='structure'>{structure_svg(view)}</div>"
        )
    parts += [_layers(r), _loops(r), _charts(r, name)]
    body = (
        f"<div class='rnnviz-report'><style>{_CSS}</style>"
        f"<script>{plotly.offline.get_plotlyjs()}</script>{''.join(parts)}</div>"
    )
    if not full_page:
        return body
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{_e(title or 'rnnviz report: ' + name)}</title></head><body>{body}</body></html>"
    )
