"""`analyse(source)`: the one analysis of a graph, computed once and read by everyone.

An `Analysis` holds what the graph *is*: the parsed source, the index of the main graph and of the
library functions, each op's role, the recurrent cells and their per-step tags, the loops, the
shape inference and the weights. `report()` turns it into the plain-data `GraphReport`; the
dashboard's structure partition groups ops by the same tags, roles and loops. Neither classifies
anything again.

Not here: presentation (`text.py`), the report's summaries (`api.py`), and any TensorFlow import
for file sources (only a live `tf.Graph`/`BuiltModel` is read through TF, by `sources`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from rnnviz.errors import InputFileError
from rnnviz.reporting.graph import GraphIndex, GraphSet
from rnnviz.reporting.loops import frame_members, loops_of
from rnnviz.reporting.model import LoopInfo, ParamsSummary
from rnnviz.reporting.params import assign_cells, summarize_params
from rnnviz.reporting.roles import roles_of
from rnnviz.reporting.shapes import Shapes
from rnnviz.reporting.sources import SourceInfo, check_index, load_graph_def, load_slim
from rnnviz.reporting.timesteps import (
    Cell,
    CellCall,
    StepTag,
    cell_calls,
    function_cells,
    fused_cells,
    loop_cells,
    tag_steps,
)
from rnnviz.reporting.weights import Weight, Weights, find_weights


@dataclass(eq=False)
class Analysis:
    """Everything known about one graph. Built by `analyse`; read-only by convention."""

    source: Any  # what was given: a path, BuiltModel, tf.Graph or GraphDef
    source_info: SourceInfo
    graph_def: Any  # GraphDef (or the slim look-alike of a binary .pb)
    graphs: GraphSet  # main graph index + library functions, indexed on demand
    roles: list[str]  # per main-graph op (same order as `index.names`)
    cells: list[Cell]  # unrolled recurrent cells of the main graph
    all_cells: list[Cell]  # every recurrent cell: unrolled, loop bodies and fused ops
    weight_set: Weights  # every weight and the ops that read it (weights.py)
    tags: dict[int, StepTag]  # main-graph op index -> (layer, direction, step)
    frames: dict[str, list[int]]  # v1 frame name -> member op indexes
    loops: tuple[LoopInfo, ...]
    shapes: Shapes  # static shapes of the main graph, batch unknown
    params: ParamsSummary
    trip_count: int | None  # the steps every loop of unknown length runs (spec, input, user)
    spec: Any = None  # the ModelSpec when rnnviz built the graph
    step_tensors: tuple[Any, ...] = ()  # the builder's record of per-step tensors
    _by_name: dict[str, StepTag] | None = field(default=None, repr=False)
    _calls: tuple[CellCall, ...] | None = field(default=None, repr=False)

    @property
    def index(self) -> GraphIndex:
        """The main graph's index (names, ops, inputs by position)."""
        return self.graphs.main

    @property
    def built(self) -> bool:
        return self.spec is not None

    @property
    def weights(self) -> tuple[Weight, ...]:
        """Every weight tensor the model computes with, with its cell, role and gates."""
        return assign_cells(self.graphs, self.weight_set, self.all_cells)

    @property
    def calls(self) -> tuple[CellCall, ...]:
        """One record per call of every recurrent cell (built on first use)."""
        if self._calls is None:
            self._calls = cell_calls(self.index, self.all_cells)
        return self._calls

    def step_tags(self) -> dict[str, StepTag]:
        """Op name -> (layer, direction, step) for the ops of unrolled cell calls."""
        if self._by_name is None:
            names = self.index.names
            self._by_name = {names[i]: self.tags[i] for i in sorted(self.tags)}
        return self._by_name

    def role_of(self, name: str) -> str | None:
        i = self.index.index.get(name)
        return self.roles[i] if i is not None else None


def is_built_model(source: Any) -> bool:
    return hasattr(source, "graph") and hasattr(source, "spec") and hasattr(source, "step_tensors")


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The walk allocates hundreds of thousands of small lists, tuples and dicts that live until
    the analysis is done; they hold no cycles, so the cyclic GC would only traverse them again and
    again. Paused for the block, previous state restored."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def analyse(source: Any, *, steps: int | None = None) -> Analysis:
    """Parse `source` (path, BuiltModel, tf.Graph, GraphDef) and analyse it once.

    `steps`: trip count of loops whose length the graph does not fix (default: the spec's T for
    a BuiltModel, else the input placeholder's time dimension when known). A path is only parsed:
    TensorFlow is not imported.
    """
    with gc_paused():
        graph_def, info, main = _load(source)
        from google.protobuf.message import DecodeError

        try:
            return _analyse(source, graph_def, info, main, steps)
        except (
            IndexError,
            KeyError,
            ValueError,
            TypeError,
            AttributeError,
            RecursionError,
            DecodeError,
        ) as exc:
            if is_built_model(source) or info.kind in ("tf_graph",):
                raise  # rnnviz's own graph: a bug, keep the traceback
            # A file that parsed but whose contents do not hang together (fuzzed or hand-edited).
            raise InputFileError(
                f"{info.name}: the graph is malformed ({type(exc).__name__}); re-export it"
            ) from None


def _load(source: Any) -> tuple[Any, SourceInfo, GraphIndex]:
    slim = load_slim(source)
    if slim is not None:  # a binary .pb: attributes are parsed only for the nodes that need them
        graph_def, info = slim
        main = GraphIndex.of_slim(graph_def.node)
    else:
        graph_def, info = load_graph_def(source, check=False)
        main = GraphIndex.of_nodes(graph_def.node)
    check_index(main.names, main.ops, info.name)
    return graph_def, info, main


def _analyse(
    source: Any, graph_def: Any, info: SourceInfo, main: GraphIndex, steps: int | None
) -> Analysis:
    built = is_built_model(source)
    spec = source.spec if built else None
    step_tensors = tuple(source.step_tensors) if built else ()
    graphs = GraphSet(graph_def, main)
    roles = roles_of(main.names, main.ops, main.tops)
    cells, tags = tag_steps(main, roles, step_tensors, graphs)
    frames = frame_members(main)
    all_cells = [
        *cells,
        *function_cells(graphs, roles),
        *loop_cells(graphs, roles, frames),
        *fused_cells(graphs, roles),
    ]
    weight_set = find_weights(graphs, roles, info)
    trip = steps or (spec.time_steps if spec is not None else None) or _input_time_steps(main)
    shapes = Shapes(main)
    loops = tuple(
        _with_shapes(_with_trip(lp, trip, spec), main, shapes) for lp in loops_of(graphs, frames)
    )
    params = summarize_params(graphs, weight_set, all_cells)
    return Analysis(
        source=source,
        source_info=info,
        graph_def=graph_def,
        graphs=graphs,
        roles=roles,
        cells=cells,
        all_cells=all_cells,
        weight_set=weight_set,
        tags=tags,
        frames=frames,
        loops=loops,
        shapes=shapes,
        params=params,
        trip_count=trip,
        spec=spec,
        step_tensors=step_tensors,
    )


def _input_time_steps(main: GraphIndex) -> int | None:
    """The time dimension of a [batch, T, F] placeholder named like an input, when fixed."""
    for i, op in enumerate(main.ops):
        if op == "Placeholder" and main.names[i].rpartition("/")[2] in ("x", "inputs", "input"):
            a = main.attr(i, "shape")
            dims = [d.size for d in a.shape.dim] if a is not None else []
            if len(dims) == 3 and dims[1] > 0:
                return int(dims[1])
    return None


def _with_trip(loop: LoopInfo, trip: int | None, spec: Any) -> LoopInfo:
    changes: dict[str, Any] = {}
    if loop.trip_count is None and trip is not None and loop.role in ("forward", "gradients"):
        changes["trip_count"] = trip
    if loop.swap_memory is None and spec is not None and loop.role == "forward":
        changes["swap_memory"] = bool(spec.swap_memory)
    return dataclasses.replace(loop, **changes) if changes else loop


def _with_shapes(loop: LoopInfo, main: GraphIndex, shapes: Shapes) -> LoopInfo:
    """v1 loop variables carry no shape in a GraphDef: take the inferred shape of their Enter."""
    if loop.kind != "v1_frame" or all(v.shape is not None for v in loop.loop_vars):
        return loop
    filled = tuple(
        v
        if v.shape is not None or v.name not in main.index
        else dataclasses.replace(v, shape=shapes.shape(main.index[v.name]))
        for v in loop.loop_vars
    )
    return dataclasses.replace(loop, loop_vars=filled)


__all__ = ["Analysis", "analyse", "gc_paused", "is_built_model"]
