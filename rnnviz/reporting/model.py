"""The report as frozen plain data: `GraphReport` and its parts, with an exact dict round trip.

Everything here is ints, floats, strings, bools, None, tuples and str-keyed dicts, so a report can
go to JSON, a golden file, a `dcc.Store` or another process. `to_dict()` gives JSON-ready data
(tuples become lists); `from_dict()` rebuilds the same object, guided by the type hints, so
`GraphReport.from_dict(r.to_dict()) == r` holds, also after `json.dumps`/`json.loads`.
Not here: computing any figure (see the analysis modules) or printing (see `text.py`).
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T", bound="Plain")

Shape = tuple[int | None, ...]


class Plain:
    """Mixin: `to_dict()` / `from_dict()` for the frozen dataclasses below."""

    __slots__ = ()  # lets a subclass with `slots=True` do without a per-instance dict

    def to_dict(self) -> dict[str, Any]:
        return _to_plain(self)

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        return _from_plain(cls, data)


def _to_plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_to_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_plain(v) for k, v in value.items()}
    return value


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls, vars(sys.modules[cls.__module__]))
    return _HINTS[cls]


def _from_plain(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return _from_plain(options[0], value) if len(options) == 1 else value
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        return tp(
            **{f.name: _from_plain(hints[f.name], value[f.name]) for f in dataclasses.fields(tp)}
        )
    if origin is tuple:
        args = typing.get_args(tp)
        item = args[0] if len(args) == 2 and args[1] is Ellipsis else Any
        return tuple(_from_plain(item, v) for v in value)
    if origin is dict:
        _, vt = typing.get_args(tp)
        return {k: _from_plain(vt, v) for k, v in value.items()}
    if tp is float and isinstance(value, int):
        return float(value)
    return value


@dataclass(frozen=True)
class OpsSummary(Plain):
    """Node and edge counts. Function-body nodes (v2 loops, Keras traces) are counted apart."""

    total: int
    data_edges: int
    control_edges: int
    by_type: dict[str, int]
    by_scope: dict[str, int]
    by_role: dict[str, int]
    functions: int = 0
    function_ops: int = 0
    function_by_type: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class GateSlice(Plain):
    """Columns [start, stop) of a fused kernel/bias that feed one gate."""

    gate: str
    start: int
    stop: int


@dataclass(frozen=True)
class Variable(Plain):
    name: str
    shape: Shape
    dtype: str
    count: int
    bytes: int
    layer: int | None = None
    direction: str | None = None
    role: str = (
        "other"  # kernel | recurrent_kernel | bias | projection | peephole | embedding | other
    )
    gates: tuple[GateSlice, ...] = ()
    origin: str = "variable"  # variable | frozen constant | sparse update | captured input


@dataclass(frozen=True)
class LayerParams(Plain):
    layer: int
    direction: str
    cell: str  # a kind of rnnviz.cellkinds.CELL_KINDS (lstm, gru, keras_lstm, ..., generic)
    count: int


@dataclass(frozen=True)
class ParamsSummary(Plain):
    total: int
    bytes: int
    recurrent: int  # parameters of the recurrent cells (not the head or embeddings)
    variables: tuple[Variable, ...]
    by_layer: tuple[LayerParams, ...]
    # Where the total came from, in words: "variables", "frozen constants", "optimizer",
    # "captured inputs", several joined with " + " (see rnnviz.reporting.weights).
    source: str


@dataclass(frozen=True)
class CellCalls(Plain):
    """One recurrent cell (layer, direction) and how often the graph calls it."""

    layer: int
    direction: str
    scope: str
    calls: int  # unrolled: one per step; loop and fused: 1
    ops: int
    kind: str = "generic"  # a kind of rnnviz.cellkinds.CELL_KINDS
    form: str = "unrolled"  # unrolled | loop | fused


@dataclass(frozen=True)
class TimestepsSummary(Plain):
    unrolled_steps: int
    ops_per_step: float
    tagged_ops: int
    source: str  # builder_record | inferred | none
    cells: tuple[CellCalls, ...] = ()
    forms: tuple[str, ...] = ()  # the forms present: unrolled | loop | fused
    tags: dict[str, tuple[int, str, int]] = field(default_factory=dict)  # op -> (layer, dir, step)


@dataclass(frozen=True, slots=True)  # one per state per step: 14k on the T=784 graph
class StateTensor(Plain):
    layer: int
    direction: str
    step: int
    kind: str  # h | c | i j f o | r u
    name: str
    shape: Shape


@dataclass(frozen=True)
class LoopExit(Plain):
    """A tensor that leaves a loop and can be fetched (stacked outputs, final states)."""

    name: str
    dtype: str
    shape: Shape | None


@dataclass(frozen=True)
class StatesSummary(Plain):
    per_step: int  # fetchable per-step state tensors (h, c, gates of every step)
    by_kind: dict[str, int]
    tensors: tuple[StateTensor, ...]
    loop_exits: tuple[LoopExit, ...]
    summary: str  # the same in words (the source's claim 4)


@dataclass(frozen=True)
class LoopVar(Plain):
    name: str
    dtype: str
    shape: Shape | None


@dataclass(frozen=True)
class LoopInfo(Plain):
    name: str
    kind: str  # v1_frame | v2_while
    role: str  # forward | gradients | ... (a loop in a function: the role of its call site)
    body_ops: int
    body_op_types: dict[str, int]
    body_nodes: tuple[str, ...]  # v1: node names in the frame; v2: node names in the body function
    loop_vars: tuple[LoopVar, ...]
    parallel_iterations: int | None
    swap_memory: bool | None
    trip_count: int | None
    body_function: str | None = None  # v2: the body function's name in graph_def.library
    in_function: str | None = None  # v2: the function holding the While op (None: main graph)
    parent: str | None = None  # name of the enclosing loop (None: at top level)
    depth: int = 0  # loops around this one
    trip_count_source: str | None = None  # static shape | constant bound | spec | user | None
    cond_function: str | None = None  # v2: the cond function's name
    flops_per_step: int | None = None  # its body run once (nested loops times their trips)


@dataclass(frozen=True)
class SizesSummary(Plain):
    graphdef_bytes: int
    saved_model_bytes: int | None = None


@dataclass(frozen=True)
class FlopsSummary(Plain):
    forward_per_sequence: int | None  # per example (batch 1), loop bodies counted per time step
    outside_loops: int  # forward FLOPs that run once per sequence (in no loop)
    in_loops: int | None  # forward FLOPs of the loops per sequence (None: a trip count unknown)
    by_type: dict[str, int]
    note: str
    unknown_loops: tuple[str, ...] = ()  # forward loops whose trip count is unknown
    tfprof: int | None = None
    tfprof_note: str = ""


@dataclass(frozen=True)
class MemorySummary(Plain):
    peak_bytes: int
    naive_sum_bytes: int  # per-node totals summed: what not replaying over-states
    allocations: int
    batch: int
    steps: int | None
    note: str


@dataclass(frozen=True)
class GraphReport(Plain):
    source: str
    source_kind: str
    model: str | None  # spec name when rnnviz built the graph
    unroll: str | None  # static | dynamic | None (unknown)
    recurrent: bool
    unrolled_steps: int
    ops: OpsSummary
    params: ParamsSummary
    timesteps: TimestepsSummary
    states: StatesSummary
    loops: tuple[LoopInfo, ...]
    sizes: SizesSummary
    flops: FlopsSummary
    memory: MemorySummary | None = None
    notes: tuple[str, ...] = ()

    def _repr_html_(self) -> str:
        """A notebook shows the report as rnnviz.html draws it (imported only when shown)."""
        from rnnviz.html import render_html

        return render_html(self, full_page=False)


@dataclass(frozen=True)
class CompareRow(Plain):
    figure: str
    a: float | None
    b: float | None
    ratio: float | None  # b / a


@dataclass(frozen=True)
class Comparison(Plain):
    a: GraphReport
    b: GraphReport
    rows: tuple[CompareRow, ...]


__all__ = [
    "CellCalls",
    "CompareRow",
    "Comparison",
    "FlopsSummary",
    "GateSlice",
    "GraphReport",
    "LayerParams",
    "LoopExit",
    "LoopInfo",
    "LoopVar",
    "MemorySummary",
    "OpsSummary",
    "ParamsSummary",
    "SizesSummary",
    "StateTensor",
    "StatesSummary",
    "TimestepsSummary",
    "Variable",
]
