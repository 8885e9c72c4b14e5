"""Collapsed block graphs of a GraphDef, for drawing and for programs: plain data, server-side positions.

What it is for: the dashboard's Structure page draws an unrolled (static_rnn) graph of up to ~230k
ops and a while-loop (dynamic_rnn) graph side by side. Neither can be drawn op by op, so the graph
is cut once into *blocks* (`partition`): one per layer x direction x time step, one per while loop,
one per role of the remaining ops. A *view* (`make_view`) draws the blocks with their aggregated
edges, some expanded into their cell / loop picture or their ops, never over `MAX_ELEMENTS`.
Programs get the block graph as a networkx DiGraph: `rnnviz.structure.block_graph(source)` (any
source the report reads: a path, a GraphDef, a BuiltModel) or `partition(graph_def).to_networkx()`.

The package: `partition` (cut into blocks), `layout` (grid, networkx layering, Graphviz `dot`,
crossing count), `facts` (what is read from the analysis), `cellview` (inside an expanded block),
`view` (the view and the click rule).

What it is not: it classifies nothing itself (roles, step tags, loops, cell roles come from the
analysis) and knows no cytoscape (app/figures.py turns a View into elements).
"""

from __future__ import annotations

from typing import Any

from rnnviz.structure.facts import Facts
from rnnviz.structure.layout import crossings
from rnnviz.structure.partition import Block, Partition, partition
from rnnviz.structure.view import (
    COLLAPSED_BUDGET,
    EXPAND_MAX_OPS,
    MAX_ELEMENTS,
    OPS,
    View,
    collapse,
    expand,
    level_of,
    make_view,
    toggle,
)


def block_graph(source: Any) -> Any:
    """The collapsed block graph of `source` as a `networkx.DiGraph` (see `Partition.to_networkx`):
    nodes are blocks (kind, layer, direction, step, role, n_ops), edges carry `n` tensor edges."""
    from rnnviz.reporting.sources import load_graph_def

    graph_def, _ = load_graph_def(source)
    return partition(graph_def, step_tensors=getattr(source, "step_tensors", None)).to_networkx()


__all__ = [
    "COLLAPSED_BUDGET",
    "EXPAND_MAX_OPS",
    "MAX_ELEMENTS",
    "OPS",
    "Block",
    "Facts",
    "Partition",
    "View",
    "block_graph",
    "collapse",
    "crossings",
    "expand",
    "level_of",
    "make_view",
    "partition",
    "toggle",
]
