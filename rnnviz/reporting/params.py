"""The params part of the report: every weight (from `weights.py`) with its cell, role and gates.

Layer, direction and kind come from the cell that reads the weight (`timesteps.py`, found from
the dataflow); the role from what reads it (a cell's first matrix is its kernel, tf-keras' second
its recurrent kernel, an LSTM's second its projection; BiasAdd: bias; a peephole Mul; a Gather:
embedding); the gate columns from the kind's layout in the registry (`rnnviz.cellkinds`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from rnnviz.cellkinds import CELL_KINDS, CELL_OPS, OP_PORT_ROLES, gate_slices
from rnnviz.reporting.graph import DTYPE_BYTES, GraphSet
from rnnviz.reporting.model import GateSlice, LayerParams, ParamsSummary, Variable
from rnnviz.reporting.timesteps import Cell
from rnnviz.reporting.weights import Weight, Weights

_READER_ROLES = {
    "BiasAdd": "bias",
    "Mul": "peephole",
    "Gather": "embedding",
    "GatherV2": "embedding",
    "ResourceGather": "embedding",
}


def _reader_role(graphs: GraphSet, weights: Weights, name: str, rank: int) -> str:
    roles = set()
    for (fname, i), port in weights.readers.get(name, ()):
        gi = graphs.main if fname is None else graphs.function(fname)
        op = gi.ops[i]
        role = OP_PORT_ROLES.get(op, {}).get(port) or _READER_ROLES.get(op)
        roles.add(role or ("kernel" if rank == 2 else "bias" if rank == 1 else "other"))
    for role in ("embedding", "peephole", "kernel", "bias"):
        if role in roles:
            return role
    return "other"


def _cell_op(graphs: GraphSet, weights: Weights, name: str, cell: Cell | None) -> str | None:
    """The cell op that reads weight `name`, when its kind orders gates per op (BlockLSTMV2)."""
    kind = CELL_KINDS.get(cell.kind) if cell is not None else None
    if kind is None or not kind.op_gates:
        return None
    for (fname, i), _ in weights.readers.get(name, ()):
        gi = graphs.main if fname is None else graphs.function(fname)
        if gi is not None and gi.ops[i] in CELL_OPS:
            return gi.ops[i]
    return None


def _in_cell(w: Weight, cell: Cell | None, role: str, op: str | None = None) -> Weight:
    if cell is None:
        return Weight(w.name, w.shape, w.dtype, w.count, w.origin, role=role)
    pos = cell.matrices.index(w.name) if w.name in cell.matrices else -1
    if pos == 1 and cell.kind.startswith("keras_"):
        role = "recurrent_kernel"
    elif pos >= 1 and cell.kind in ("lstm", "basic_lstm"):
        role = "projection"
    gates: tuple[GateSlice, ...] = ()
    if w.shape and role in ("kernel", "recurrent_kernel", "bias"):
        matrix = pos if pos >= 0 else _bias_matrix(cell, w.shape[-1])
        gates = tuple(
            GateSlice(*g) for g in gate_slices(cell.kind, max(matrix, 0), w.shape[-1], op)
        )
    return Weight(
        w.name, w.shape, w.dtype, w.count, w.origin, cell.layer, cell.direction, role, gates
    )


def _bias_matrix(cell: Cell, cols: int) -> int:
    """The cell's matrix a bias of `cols` columns goes with (TF1's GRU has two)."""
    return next((k for k, c in enumerate(cell.matrix_cols) if c == cols), 0)


def assign_cells(graphs: GraphSet, weights: Weights, cells: Sequence[Cell]) -> tuple[Weight, ...]:
    """The weights with layer, direction, role and gates filled from the cells that read them."""
    owner = {name: cell for cell in cells for name in cell.weights}
    return tuple(
        _in_cell(
            w,
            owner.get(w.name),
            _reader_role(graphs, weights, w.name, len(w.shape)),
            _cell_op(graphs, weights, w.name, owner.get(w.name)),
        )
        for w in weights.weights
    )


def summarize_params(graphs: GraphSet, weights: Weights, cells: Sequence[Cell]) -> ParamsSummary:
    """The params part of the report."""
    filled = assign_cells(graphs, weights, cells)
    kinds = {(c.layer, c.direction): c.kind for c in cells}
    variables = tuple(
        Variable(
            w.name,
            w.shape,
            w.dtype,
            w.count,
            w.count * DTYPE_BYTES.get(w.dtype, 4),
            w.layer,
            w.direction,
            w.role,
            w.gates,
            w.origin,
        )
        for w in filled
    )
    per_layer: dict[tuple[int, str], int] = defaultdict(int)
    for v in variables:
        if v.layer is not None and v.direction is not None:
            per_layer[(v.layer, v.direction)] += v.count
    by_layer = tuple(
        LayerParams(layer, direction, kinds.get((layer, direction), "generic"), count)
        for (layer, direction), count in sorted(per_layer.items())
    )
    return ParamsSummary(
        total=sum(v.count for v in variables),
        bytes=sum(v.bytes for v in variables),
        recurrent=sum(lp.count for lp in by_layer),
        variables=variables,
        by_layer=by_layer,
        source=weights.source,
    )


__all__ = ["assign_cells", "summarize_params"]
