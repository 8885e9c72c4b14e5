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
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from rnnviz.errors import InputFileError
from rnnviz.reporting.flops import count_flops
from rnnviz.reporting.graph import CorruptNode, GraphIndex, GraphSet
from rnnviz.reporting.loops import LoopWalk, walk_loops, with_depths
from rnnviz.reporting.model import FlopsSummary, LoopInfo, ParamsSummary
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
    recorded_cells,
    steps_from_cells,
)
from rnnviz.reporting.trips import Steps, check_steps, graph_trips, settle
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
    walk: LoopWalk  # the bodies reached from the entry points (main graph, calls, loop bodies)
    loops: tuple[LoopInfo, ...]  # every reachable loop, nested, with its trip count
    shapes: Shapes  # static shapes of the main graph, batch unknown
    params: ParamsSummary
    flops: FlopsSummary
    steps: Steps = None  # what the caller gave for loops of unknown length
    spec: Any = None  # the ModelSpec when rnnviz built the graph
    step_tensors: tuple[Any, ...] = ()  # the builder's record of per-step tensors
    _tags: dict[int, StepTag] | None = field(default=None, repr=False)
    _by_name: dict[str, StepTag] | None = field(default=None, repr=False)
    _calls: tuple[CellCall, ...] | None = field(default=None, repr=False)
    _weights: tuple[Weight, ...] | None = field(default=None, repr=False)

    @property
    def index(self) -> GraphIndex:
        """The main graph's index (names, ops, inputs by position)."""
        return self.graphs.main

    @property
    def frames(self) -> dict[str, list[int]]:
        """v1 frame name -> the main-graph nodes whose innermost frame it is."""
        return self.walk.frames.members

    @property
    def functions(self) -> list[str]:
        """Library functions reached from the entry points (what is counted and listed)."""
        return self.walk.functions

    @property
    def built(self) -> bool:
        return self.spec is not None

    @property
    def weights(self) -> tuple[Weight, ...]:
        """Every weight tensor the model computes with, with its cell, role and gates (built on
        first use)."""
        if self._weights is None:
            self._weights = assign_cells(self.graphs, self.weight_set, self.all_cells)
        return self._weights

    @property
    def calls(self) -> tuple[CellCall, ...]:
        """One record per call of every recurrent cell (built on first use)."""
        if self._calls is None:
            self._calls = cell_calls(self.graphs, self.all_cells)
        return self._calls

    @property
    def tags(self) -> dict[int, StepTag]:
        """Main-graph op index -> (layer, direction, step) of the ops of unrolled cell calls
        (built on first use)."""
        if self._tags is None:
            self._tags = steps_from_cells(self.cells, self.step_tensors, self.index)
        return self._tags

    def step_tags(self) -> dict[str, StepTag]:
        """Op name -> (layer, direction, step) for the ops of unrolled cell calls. Built from
        `tags`; the report needs only this one, so `tags` is not kept when it was not asked for
        (70k entries on the big unrolled graph)."""
        if self._by_name is None:
            names = self.index.names
            tags = self._tags
            if tags is None:
                tags = steps_from_cells(self.cells, self.step_tensors, self.index)
            self._by_name = {names[i]: tags[i] for i in sorted(tags)}
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


def analyse(source: Any, *, steps: Steps = None) -> Analysis:
    """Parse `source` (path, BuiltModel, tf.Graph, GraphDef) and analyse it once.

    `steps`: trip count of the loops whose length neither the graph nor the spec fixes: one
    number for all of them, or `{"loop name": n}` for given loops (a name may be shortened to a
    unique ending after a '/'). A path is only parsed: TensorFlow is not imported.
    """
    check_steps(steps)
    with gc_paused():
        graph_def, info, main = _load(source)
        try:
            return _analyse(source, graph_def, info, main, steps)
        except CorruptNode as exc:
            # Only what is genuinely wrong with the user's file becomes their error; anything
            # else raised here is a bug in rnnviz and keeps its traceback.
            raise InputFileError(
                f"{info.name}: node {exc.node!r} has corrupt attributes; re-export the graph"
            ) from None


def _load(source: Any) -> tuple[Any, SourceInfo, GraphIndex]:
    slim = load_slim(source)
    if slim is not None:  # a binary .pb: attributes are parsed only for the nodes that need them
        graph_def, info = slim
        main = GraphIndex.of_slim(graph_def.node)
    else:
        graph_def, info = load_graph_def(source, check=False)
        main = GraphIndex.of_nodes(graph_def.node)
    check_index(main, info.name)
    if len(main.index) != len(main.names):
        dup = next(n for n, c in Counter(main.names).items() if c > 1)
        raise InputFileError(
            f"{info.name}: not a valid graph (two nodes are named {dup!r}); re-export it"
        )
    return graph_def, info, main


def _analyse(
    source: Any, graph_def: Any, info: SourceInfo, main: GraphIndex, steps: Steps
) -> Analysis:
    built = is_built_model(source)
    spec = source.spec if built else None
    step_tensors = tuple(source.step_tensors) if built else ()
    graphs = GraphSet(graph_def, main)
    roles = roles_of(main.names, main.ops, main.tops)
    cells = recorded_cells(main, roles, step_tensors, graphs)
    shapes = Shapes(main)
    walk = walk_loops(graphs, roles, shapes, info.signatures)
    all_cells = [
        *cells,
        *function_cells(graphs, roles),
        *loop_cells(graphs, roles, walk.frames.members),
        *fused_cells(graphs, roles),
    ]
    weight_set = find_weights(graphs, roles, info)
    if weight_set.seeds:  # captured weights sized from their use: FLOPs must see those sizes
        shapes = Shapes(main, seeds=weight_set.seeds)
        walk = walk_loops(graphs, roles, shapes, info.signatures)
    loops, flops = _loops_and_flops(graphs, walk, roles, cells, spec, steps)
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
        walk=walk,
        loops=loops,
        shapes=shapes,
        params=params,
        flops=flops,
        steps=steps,
        spec=spec,
        step_tensors=step_tensors,
    )


def _loops_and_flops(
    graphs: GraphSet, walk: LoopWalk, roles: list[str], cells: list[Cell], spec: Any, steps: Steps
) -> tuple[tuple[LoopInfo, ...], FlopsSummary]:
    """Trip counts (graph, then gradients' twins, spec, user), then FLOPs, then per-step FLOPs."""
    found = graph_trips(graphs, walk.root)
    loops = [
        dataclasses.replace(lp, trip_count=found[lp.name][0], trip_count_source=found[lp.name][1])
        if lp.name in found
        else lp
        for lp in walk.loops
    ]
    loops = settle(loops, spec, steps)
    if spec is not None:
        loops = [
            dataclasses.replace(lp, swap_memory=bool(spec.swap_memory))
            if lp.swap_memory is None and lp.role == "forward"
            else lp
            for lp in loops
        ]
    flops, per_step = count_flops(walk, loops, cells, roles)
    loops = [dataclasses.replace(lp, flops_per_step=per_step.get(lp.name)) for lp in loops]
    return tuple(with_depths(loops)), flops


__all__ = ["Analysis", "analyse", "gc_paused", "is_built_model"]
