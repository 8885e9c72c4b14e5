"""What the side panel says about one op: type, attributes, input/output shapes, the weights it reads.

What it is for: the Structure page's click-to-inspect. It reads the GraphDef the build cached
(parsed once with TensorFlow-free protobuf classes) and the report's shape inference
(`rnnviz.reporting.shapes`), for an op of the main graph or of a loop body function.

What it is not: a second analysis. Shapes are the report's (unknown stays unknown, batch = ?).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from rnnviz.reporting.graph import GraphIndex, GraphSet
from rnnviz.reporting.shapes import Shapes

_PASS_THROUGH = frozenset({"Identity", "Enter", "RefEnter", "ReadVariableOp", "Switch", "Merge"})
_WEIGHT_SOURCES = frozenset({"VariableV2", "VarHandleOp", "Variable", "Const"})
MAX_ATTR_CHARS = 60


@functools.lru_cache(maxsize=4)
def load_graph(path: str, mtime: float) -> GraphSet:
    """The cached GraphDef at `path`, parsed without TensorFlow (`mtime` keys the cache)."""
    from rnnviz.reporting.protos import graph_pb2

    graph_def = graph_pb2.GraphDef()
    graph_def.ParseFromString(Path(path).read_bytes())
    return GraphSet(graph_def)


def graph_at(path: Path) -> GraphSet | None:
    return load_graph(str(path), path.stat().st_mtime) if path.is_file() else None


def _shape_text(shape: Any) -> str:
    if shape is None:
        return "unknown"
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def _attr_text(value: Any) -> str:
    kind = value.WhichOneof("value")
    if kind == "type":
        from rnnviz.reporting.graph import dtype_name

        return dtype_name(value.type)
    text = str(getattr(value, kind)) if kind else ""
    text = " ".join(text.split())
    return text if len(text) <= MAX_ATTR_CHARS else text[: MAX_ATTR_CHARS - 1] + "…"


def _weight_source(gi: GraphIndex, j: int | None, depth: int = 0) -> str | None:
    """The variable or constant a data input comes from through Identity/Read/Enter, if any."""
    while j is not None and depth < 8:
        op = gi.ops[j]
        if op in _WEIGHT_SOURCES:
            return gi.names[j] if op != "Const" or depth > 0 else None
        if op not in _PASS_THROUGH or not gi.raw_inputs[j]:
            return None
        first = gi.raw_inputs[j][0].lstrip("^").rpartition(":")
        j = gi.index.get(first[0] if first[1] else first[2])
        depth += 1
    return None


def op_details(graphs: GraphSet, name: str, function: str | None = None) -> dict[str, Any] | None:
    """{name, op, attrs, inputs: [(name, shape)], outputs: [(name, shape)], weights} of one op;
    None when the graph has no such op."""
    gi = graphs.function(function) if function else graphs.main
    if gi is None or name not in gi.index:
        return None
    i = gi.index[name]
    shapes = Shapes(gi)
    node = gi.nodes[i]
    ins = []
    weights = []
    for k, (j, _port, _arg) in enumerate(shapes.inputs(i)):
        src = gi.names[j] if j is not None else "(function argument)"
        ins.append((src, _shape_text(shapes.input_shape(i, k))))
        w = _weight_source(gi, j)
        if w:
            weights.append(w)
    outs = [(gi.names[c], gi.ops[c]) for c in gi.consumers()[i][:12]]
    return {
        "name": name,
        "op": gi.ops[i],
        "function": function,
        "attrs": {k: _attr_text(v) for k, v in sorted(node.attr.items()) if not k.startswith("_")},
        "inputs": ins,
        "output_shape": _shape_text(shapes.shape(i)),
        "consumers": outs,
        "weights": weights,
    }
