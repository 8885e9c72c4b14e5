"""`report(source)` and `compare(a, b)`: the one entry point that runs every analysis.

Loads the source (parse only), indexes the graph once, and hands the same index, roles and shape
inference to each analysis module, then assembles the frozen `GraphReport`. Presentation lives
elsewhere (`text.py`, the CLI, the dashboard).
"""

from __future__ import annotations

import dataclasses
import gc
from collections import Counter
from typing import Any

from rnnviz.errors import InputFileError
from rnnviz.reporting.compare import compare_reports
from rnnviz.reporting.flops import TFPROF_NOTE, count_flops, tfprof_flops
from rnnviz.reporting.graph import GraphIndex, GraphSet
from rnnviz.reporting.loops import frame_members, loops_of
from rnnviz.reporting.model import (
    CellCalls,
    Comparison,
    GraphReport,
    LoopInfo,
    OpsSummary,
    SizesSummary,
    TimestepsSummary,
)
from rnnviz.reporting.params import summarize_params
from rnnviz.reporting.roles import ROLES, roles_of
from rnnviz.reporting.shapes import Shapes
from rnnviz.reporting.sources import check_index, load_graph_def, load_slim
from rnnviz.reporting.states import from_record, infer_states, loop_exits, summarize_states
from rnnviz.reporting.timesteps import fused_cells, loop_cells, tag_steps
from rnnviz.reporting.weights import find_weights


def _is_built_model(source: Any) -> bool:
    return hasattr(source, "graph") and hasattr(source, "spec") and hasattr(source, "step_tensors")


def report(
    source: Any,
    *,
    steps: int | None = None,
    memory: bool = False,
    tfprof: bool | None = None,
    batch: int = 32,
) -> GraphReport:
    """Walk `source` (BuiltModel, tf.Graph, GraphDef or graph file path) and report on it.

    `steps`: trip count of loops whose length the graph does not fix (default: the spec's T for
    a BuiltModel, else the input placeholder's time dimension when known). `memory`: run one
    training step with tracing (BuiltModel only). `tfprof`: add tfprof's float-op count (default:
    for in-memory graphs only, since a file would have to be imported into a tf.Graph first).
    """
    # The walk allocates hundreds of thousands of small lists, tuples and dicts that live until the
    # report is built; the cyclic GC would traverse them again and again for nothing (they hold no
    # cycles), so it is paused for the walk and its previous state restored.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _report_source(source, steps, memory, tfprof, batch)
    finally:
        if gc_was_enabled:
            gc.enable()


def _report_source(
    source: Any, steps: int | None, memory: bool, tfprof: bool | None, batch: int
) -> GraphReport:
    slim = load_slim(source)
    if slim is not None:  # a binary .pb: attributes are parsed only for the nodes that need them
        graph_def, info = slim
        main = GraphIndex.of_slim(graph_def.node)
    else:
        graph_def, info = load_graph_def(source, check=False)
        main = GraphIndex.of_nodes(graph_def.node)
    check_index(main.names, main.ops, info.name)
    from google.protobuf.message import DecodeError

    try:
        return _report(source, graph_def, info, main, steps, memory, tfprof, batch)
    except (
        IndexError,
        KeyError,
        ValueError,
        TypeError,
        AttributeError,
        RecursionError,
        DecodeError,
    ) as exc:
        if _is_built_model(source) or info.kind in ("tf_graph",):
            raise  # rnnviz's own graph: a bug, keep the traceback
        # A file that parsed but whose contents do not hang together (fuzzed or hand-edited).
        raise InputFileError(
            f"{info.name}: the graph is malformed ({type(exc).__name__}); re-export it"
        ) from None


def _report(
    source: Any,
    graph_def: Any,
    info: Any,
    main: GraphIndex,
    steps: int | None,
    memory: bool,
    tfprof: bool | None,
    batch: int,
) -> GraphReport:
    built = _is_built_model(source)
    spec = source.spec if built else None
    slim = graph_def if type(graph_def).__name__ == "SlimGraphDef" else None
    graphs = GraphSet(graph_def, main)
    roles = roles_of(main.names, main.ops, main.tops)

    ops = _ops_summary(graphs, roles)

    step_tensors = tuple(source.step_tensors) if built else ()
    cells, tags = tag_steps(main, roles, step_tensors, graphs)
    frames = frame_members(main)
    all_cells = cells + loop_cells(graphs, roles, frames) + fused_cells(graphs, roles)
    unrolled = max((c.calls for c in cells), default=0)
    forms = tuple(f for f in ("unrolled", "loop", "fused") if any(c.form == f for c in all_cells))
    timesteps = TimestepsSummary(
        unrolled_steps=unrolled,
        ops_per_step=round(len(tags) / unrolled, 3) if unrolled else 0.0,
        tagged_ops=len(tags),
        source=("builder_record" if step_tensors else "inferred") if cells else "none",
        cells=tuple(
            CellCalls(c.layer, c.direction, c.scope, c.calls, len(c.ops), c.kind, c.form)
            for c in sorted(all_cells, key=lambda c: (c.layer, c.direction, c.form))
        ),
        tags={main.names[i]: tags[i] for i in sorted(tags)},
        forms=forms,
    )

    loops = loops_of(graphs, frames)
    trip = steps or (spec.time_steps if spec is not None else None) or _input_time_steps(main)
    shapes = Shapes(main)
    loops = [_with_shapes(_with_trip(lp, trip, spec), main, shapes) for lp in loops]
    forward_loops = [lp for lp in loops if lp.role == "forward"]
    recurrent = bool(forms) or bool(forward_loops)

    params = summarize_params(graphs, find_weights(graphs, roles, info), all_cells)

    flops = count_flops(graphs, roles, loops, frames, trip, shapes, cells)
    graph = source.graph if built else (source if info.kind == "tf_graph" else None)
    if tfprof is None:
        tfprof = graph is not None
    if tfprof:
        if graph is None:
            graph = _import_for_tfprof(load_graph_def(source)[0] if slim is not None else graph_def)
        flops = dataclasses.replace(flops, tfprof=tfprof_flops(graph), tfprof_note=TFPROF_NOTE)

    tensors = from_record(step_tensors) if step_tensors else infer_states(main, cells, shapes)
    exits = loop_exits(graphs, roles, loops, frames, shapes)
    states = summarize_states(tensors, exits, unrolled, recurrent)

    mem = None
    if memory:
        if not built:
            raise InputFileError(
                f"{info.name}: memory is measured by running one training step, which rnnviz only "
                "does for models it built; give a model name instead of a file"
            )
        from rnnviz.reporting.memory import measure_training_step

        mem = measure_training_step(source, batch=batch)

    notes = []
    if not recurrent:
        notes.append("no recurrent structure was found (no unrolled cell and no forward loop)")
    if any(lp.kind == "v2_while" and lp.role == "forward" for lp in loops) and spec is None:
        notes.append("swap_memory is not recorded in a v2 While op")
    unroll = (
        spec.unroll
        if spec is not None
        else ("static" if cells else "dynamic" if forward_loops else None)
    )
    return GraphReport(
        source=info.name,
        source_kind=info.kind,
        model=spec.name if spec is not None else None,
        unroll=unroll,
        recurrent=recurrent,
        unrolled_steps=unrolled,
        ops=ops,
        params=params,
        timesteps=timesteps,
        states=states,
        loops=tuple(loops),
        sizes=SizesSummary(info.graphdef_bytes, info.saved_model_bytes),
        flops=flops,
        memory=mem,
        notes=tuple(notes),
    )


def _ops_summary(graphs: GraphSet, roles: list[str]) -> OpsSummary:
    main = graphs.main
    control = 0
    total_inputs = 0
    for raw in main.raw_inputs if main.edge_counts is None else ():
        n = len(raw)
        if n:
            total_inputs += n
            # Control inputs come after the data inputs: count the "^" tail from the end.
            k = n - 1
            while k >= 0 and raw[k].startswith("^"):
                k -= 1
            control += n - 1 - k
    if main.edge_counts is not None:  # counted while indexing
        total_inputs = sum(main.edge_counts)
        control = main.edge_counts[1]
    scopes = Counter(main.tops)
    for name in [n for n in main.names if "/" not in n]:  # few: ops outside any scope
        scopes[name] -= 1
        scopes["(top level)"] += 1
    scopes = +scopes  # drop the zeroed entries
    function_types: Counter = Counter()
    for fname in graphs.function_names:
        function_types.update(nd.op for nd in graphs.function_def(fname).node_def)
    return OpsSummary(
        total=len(main),
        data_edges=total_inputs - control,
        control_edges=control,
        by_type=dict(Counter(main.ops).most_common()),
        by_scope=dict(scopes.most_common()),
        by_role={r: c for r, c in ((r, roles.count(r)) for r in ROLES) if c},
        functions=len(graphs.function_names),
        function_ops=sum(function_types.values()),
        function_by_type=dict(function_types.most_common()),
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


def _import_for_tfprof(graph_def: Any) -> Any:
    """Only for tfprof's figure: import the GraphDef into a fresh tf.Graph (never run)."""
    from rnnviz.tfcompat import tf

    graph = tf.Graph()
    with graph.as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
    return graph


def compare(a: Any, b: Any, **kwargs: Any) -> Comparison:
    """Report on both sources (or take two GraphReports) and put every figure side by side."""
    ra = a if isinstance(a, GraphReport) else report(a, **kwargs)
    rb = b if isinstance(b, GraphReport) else report(b, **kwargs)
    return compare_reports(ra, rb)


__all__ = ["compare", "report"]
