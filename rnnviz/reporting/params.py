"""Trainable variables: name, shape, count, bytes, layer/direction, and the gate split of kernels.

Which variables are trainable comes from the source when it says so (a TF2 SavedModel's object
graph, the `trainable_variables` collection of a tf.Graph / MetaGraph / TF1 SavedModel), else from
the optimizer (the variables its Apply ops update), else all float variables that are not
optimizer slots. Layer and direction: a variable belongs to a recurrent cell when its scope is a
cell scope (an unrolled cell, a loop's captured weight, or a `*_cell` scope); cells are numbered in
creation order per direction. Gate columns follow each cell's layout (TF1 LSTM i,j,f,o; Keras LSTM
i,f,c,o; TF1 GRU gates r,u + candidate; Keras GRU z,r,h).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

from rnnviz.reporting.graph import (
    DTYPE_BYTES,
    VARIABLE_OPS,
    GraphIndex,
    direction_of_scope,
    dtype_name,
    number_layers,
    shape_of_proto,
    strip_sub_scope,
)
from rnnviz.reporting.model import GateSlice, LayerParams, ParamsSummary, Variable
from rnnviz.reporting.sources import SourceInfo

_CELL_SCOPE = re.compile(
    r"(^|/)((basic_)?lstm_cell|gru_cell|basic_rnn_cell|lstm|gru|simple_rnn)(_\d+)?(/|$)"
)
_FLOAT = ("float32", "float64", "float16", "bfloat16")


def variable_nodes(gi: GraphIndex) -> list[int]:
    return [i for i, op in enumerate(gi.ops) if op in VARIABLE_OPS]


def _var_meta(gi: GraphIndex, i: int) -> tuple[tuple[int, ...], str]:
    dtype = gi.attr(i, "dtype")
    shape = gi.attr(i, "shape")
    dims = shape_of_proto(shape.shape) if shape is not None else None
    dims = tuple(max(d or 0, 0) for d in dims) if dims is not None else ()
    name = dtype_name(dtype.type) if dtype is not None else "float32"
    return dims, name.removesuffix("_ref")


def _updated_by_optimizer(gi: GraphIndex) -> set[int]:
    """Variables that Apply ops update (their input 0, through reads and Identities)."""
    out = set()
    for i, op in enumerate(gi.ops):
        if "Apply" in op:
            ins = gi.data_inputs(i)
            if not ins:
                continue
            var = gi.walk_back(ins[0][0], VARIABLE_OPS, hops=4)
            if var is not None:
                out.add(var)
    return out


def cell_scope(var_name: str) -> str:
    return strip_sub_scope(var_name.rpartition("/")[0])


def _role(name: str, consumers_ops: Iterable[str]) -> str:
    last = name.rpartition("/")[2]
    ops = set(consumers_ops)
    if "/projection/" in name:
        return "projection"
    if last.startswith("w_") and last.endswith("_diag"):
        return "peephole"
    if last in ("embeddings", "embedding") or ops & {"Gather", "GatherV2", "ResourceGather"}:
        return "embedding"
    if last == "recurrent_kernel":
        return "recurrent_kernel"
    if last in ("kernel", "weights", "w", "W"):
        return "kernel"
    if last in ("bias", "biases", "b"):
        return "bias"
    return "other"


def _cell_kind(scope: str, shapes: dict[str, tuple[int, ...]]) -> str:
    last = scope.rpartition("/")[2]
    if "lstm" in last:
        return "lstm"
    if "gru" in last:
        return "gru"
    if "rnn" in last:
        return "basic_rnn"
    return "unknown"


def _gates(
    var: str, role: str, shape: tuple[int, ...], kind: str, keras: bool
) -> tuple[GateSlice, ...]:
    if role not in ("kernel", "recurrent_kernel", "bias") or not shape:
        return ()
    cols = shape[-1]
    if kind == "lstm" and cols % 4 == 0:
        names = ("i", "f", "c", "o") if keras else ("i", "j", "f", "o")
        u = cols // 4
    elif kind == "gru" and "/gates/" in var and cols % 2 == 0:
        names, u = ("r", "u"), cols // 2
    elif kind == "gru" and "/candidate/" in var:
        names, u = ("candidate",), cols
    elif kind == "gru" and keras and cols % 3 == 0:
        names, u = ("z", "r", "h"), cols // 3
    else:
        return ()
    return tuple(GateSlice(g, k * u, (k + 1) * u) for k, g in enumerate(names))


def summarize_params(
    gi: GraphIndex,
    info: SourceInfo,
    recurrent_scopes: Sequence[str] = (),
) -> ParamsSummary:
    """The params part of the report. `recurrent_scopes`: variable scopes known to be cells."""
    var_nodes = variable_nodes(gi)
    metas = {gi.names[i]: _var_meta(gi, i) for i in var_nodes}
    source: str
    if info.saved_variables and any(r[3] for r in info.saved_variables):
        records = [(n, s, d) for n, s, d, trainable in info.saved_variables if trainable]
        source = "saved_objects"
    else:
        if info.trainable is not None:
            wanted = list(info.trainable)
            source = "collection"
        else:
            updated = _updated_by_optimizer(gi)
            if updated:
                wanted = [gi.names[i] for i in sorted(updated)]
                source = "apply_ops"
            else:
                from rnnviz.reporting.roles import role_of

                wanted = [
                    gi.names[i]
                    for i in var_nodes
                    if role_of(gi.names[i], gi.ops[i]) == "forward"
                    and metas[gi.names[i]][1] in _FLOAT
                ]
                source = "all_variables"
        records = [(n, *metas.get(n, ((), "float32"))) for n in wanted]

    consumers = _consumer_ops(gi, {gi.index[n] for n, _, _ in records if n in gi.index})
    keras = any(n.endswith("recurrent_kernel") for n, _, _ in records)
    scopes = set(recurrent_scopes)
    for n, _, _ in records:
        if _CELL_SCOPE.search(cell_scope(n) + "/"):
            scopes.add(cell_scope(n))
    # Number the cells in creation order per direction (graph order, else listing order).
    first_seen: dict[str, int] = {}
    for pos, (n, _, _) in enumerate(records):
        sc = cell_scope(n)
        if sc in scopes:
            first_seen.setdefault(sc, gi.index.get(n, pos))
    layer_of = number_layers(
        (sc, direction_of_scope(sc)) for sc in sorted(first_seen, key=first_seen.get)
    )

    variables = []
    per_layer: dict[tuple[int, str], list] = defaultdict(lambda: ["unknown", 0])
    shapes = {n: s for n, s, _ in records}
    for n, shape, dtype in records:
        count = 1
        for d in shape:
            count *= d
        sc = cell_scope(n)
        layer, direction = layer_of.get(sc, (None, None))
        role = _role(n, consumers.get(n, ()))
        kind = _cell_kind(sc, shapes) if layer is not None else "unknown"
        gates = _gates(n, role, shape, kind, keras) if layer is not None else ()
        variables.append(
            Variable(
                n,
                tuple(shape),
                dtype,
                count,
                count * DTYPE_BYTES.get(dtype, 4),
                layer,
                direction,
                role,
                gates,
            )
        )
        if layer is not None:
            entry = per_layer[(layer, direction)]
            entry[0], entry[1] = kind, entry[1] + count
    by_layer = tuple(
        LayerParams(layer, direction, kind, count)
        for (layer, direction), (kind, count) in sorted(
            per_layer.items(), key=lambda kv: (kv[0][0], kv[0][1])
        )
    )
    return ParamsSummary(
        total=sum(v.count for v in variables),
        bytes=sum(v.bytes for v in variables),
        recurrent=sum(lp.count for lp in by_layer),
        variables=tuple(variables),
        by_layer=by_layer,
        source=source,
    )


def _consumer_ops(gi: GraphIndex, var_idx: set[int]) -> dict[str, list[str]]:
    """Op types that read each variable directly or through its read op: spots embeddings."""
    out: dict[str, list[str]] = defaultdict(list)
    if not var_idx:
        return out
    reads: dict[int, int] = {}  # read op -> variable
    gathers = []
    for i, op in enumerate(gi.ops):
        if op == "ReadVariableOp" or (op == "Identity" and gi.names[i].endswith("/read")):
            ins = gi.data_inputs(i)
            if ins and ins[0][0] in var_idx:
                reads[i] = ins[0][0]
                out[gi.names[ins[0][0]]].append(op)
        elif op in ("ResourceGather", "Gather", "GatherV2"):
            gathers.append(i)
    for i in gathers:
        ins = gi.data_inputs(i)
        if ins:
            var = ins[0][0] if ins[0][0] in var_idx else reads.get(ins[0][0])
            if var is not None:
                out[gi.names[var]].append(gi.ops[i])
    return out


__all__ = ["VARIABLE_OPS", "cell_scope", "summarize_params", "variable_nodes"]
