"""The per-step state tensors a user can fetch: h, c and gate activations per layer/direction/step.

A static (unrolled) graph holds all of them; a dynamic graph only what leaves its loop (the stacked
top-layer outputs and the final states): that difference is the source's claim 4, and the report
says it in words as well as numbers. With a BuiltModel the inventory is the builder's record;
otherwise it is read from the graph: in the first call of each unrolled cell, the state outputs
are the ops the second call reads, the gates are the activations after the cell's gate Split;
every later call created the same ops in the same order, so positions carry over.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from rnnviz.reporting.graph import GraphIndex, GraphSet, dtype_name, time_step
from rnnviz.reporting.loops import WHILE_OPS
from rnnviz.reporting.model import LoopExit, LoopInfo, StatesSummary, StateTensor
from rnnviz.reporting.shapes import Shapes
from rnnviz.reporting.timesteps import Cell

LSTM_GATES = ("i", "j", "f", "o")
GRU_GATES = ("r", "u")
_ACT = frozenset({"Sigmoid", "Tanh", "Relu", "Softsign"})
_PASS = frozenset({"Add", "AddV2"})


def from_record(step_tensors: Sequence[Any]) -> list[StateTensor]:
    return [
        StateTensor(
            int(s.layer), str(s.direction), int(s.step), str(s.kind), str(s.name), tuple(s.shape)
        )
        for s in step_tensors
    ]


def infer_states(gi: GraphIndex, cells: Sequence[Cell], shapes: Shapes) -> list[StateTensor]:
    out: list[StateTensor] = []
    for cell in cells:
        calls: list[list[int]] = [[] for _ in range(cell.calls)]
        for i, k in cell.call_of.items():
            calls[k].append(i)
        for ops in calls:
            ops.sort()
        if cell.calls < 2 or not calls[0] or any(len(c) != len(calls[0]) for c in calls):
            continue
        picks = _first_call_states(gi, calls[0], set(calls[1]))
        # Every call made the same ops: shapes of call 1 stand for all later calls, which
        # spares a shape walk down the whole unrolled chain.
        known = {
            (pos, port): (shapes.shape(calls[0][pos], port), shapes.shape(calls[1][pos], port))
            for _, pos, port in picks
        }
        for k, ops in enumerate(calls):
            step = time_step(cell.direction, k, cell.calls)
            for kind, pos, port in picks:
                node = ops[pos]
                shape = known[(pos, port)][min(k, 1)]
                out.append(
                    StateTensor(
                        cell.layer,
                        cell.direction,
                        step,
                        kind,
                        f"{gi.names[node]}:{port}",
                        tuple(shape or ()),
                    )
                )
    return out


def _first_call_states(
    gi: GraphIndex, call0: list[int], call1: set[int]
) -> list[tuple[str, int, int]]:
    """(kind, position in call, output port) of h, c and the gates in a cell's first call."""
    pos = {node: p for p, node in enumerate(call0)}
    inside = set(call0)
    # State outputs: ops of call 0 read by call 1 (LSTM: c and h; GRU/RNN: h).
    states = sorted({j for i in call1 for j, _ in gi.data_inputs(i) if j in inside})
    consumers: dict[int, list[int]] = {i: [] for i in call0}
    for i in call0:
        for j, _ in gi.data_inputs(i):
            if j in consumers:
                consumers[j].append(i)
    picks: list[tuple[str, int, int]] = []
    if len(states) == 1:
        picks.append(("h", pos[states[0]], 0))
    elif len(states) >= 2:
        # c feeds h within the call (h = o * tanh(c)); h is downstream of c.
        c = next((s for s in states if _reaches(consumers, s, set(states) - {s})), states[0])
        h = next(s for s in states if s != c)
        picks += [("h", pos[h], 0), ("c", pos[c], 0)]
    for i in call0:
        if gi.ops[i] != "Split":
            continue
        n = gi.attr(i, "num_split")
        n = int(n.i) if n is not None else 0
        if n == 4 and len(states) >= 2:
            for port, gate in enumerate(LSTM_GATES):
                act = _activation_after(gi, consumers, i, port, inside)
                if act is not None:
                    picks.append((gate, pos[act], 0))
        elif n == 2:
            ins = gi.data_inputs(i)
            if len(ins) > 1 and gi.ops[ins[1][0]] == "Sigmoid":
                picks += [(g, pos[i], port) for port, g in enumerate(GRU_GATES)]
    return picks


def _reaches(consumers: dict[int, list[int]], start: int, targets: set[int]) -> bool:
    seen, todo = {start}, [start]
    while todo:
        for j in consumers.get(todo.pop(), ()):
            if j in targets:
                return True
            if j not in seen:
                seen.add(j)
                todo.append(j)
    return False


def _activation_after(
    gi: GraphIndex, consumers: dict[int, list[int]], split: int, port: int, inside: set[int]
) -> int | None:
    frontier = [(split, port)]
    for _ in range(4):  # gate -> [+ forget_bias] [+ peephole] -> activation
        nxt = []
        for node, p in frontier:
            for c in consumers.get(node, ()):
                if (node, p) not in [(j, q) for j, q in gi.data_inputs(c)]:
                    continue
                if gi.ops[c] in _ACT:
                    return c
                if gi.ops[c] in _PASS:
                    nxt.append((c, 0))
        frontier = nxt
    return None


def loop_exits(
    graphs: GraphSet,
    roles: Sequence[str],
    loops: Sequence[LoopInfo],
    frames: dict[str, list[int]],
    shapes: Shapes,
) -> list[LoopExit]:
    """Tensors that leave forward loops and can be fetched: final states and stacked outputs.

    Skipped: loop counters, TensorArray flows (scalars), and loop-invariant inputs a v2 body
    just hands back (the captured weights).
    """
    main = graphs.main
    forward_frames = {lp.name for lp in loops if lp.kind == "v1_frame" and lp.role == "forward"}
    if not any(lp.role == "forward" and lp.in_function is None for lp in loops):
        return []  # nothing leaves a loop; also spares the consumer map of a big unrolled graph
    cons = main.consumers()
    out: list[LoopExit] = []
    for frame, members in frames.items():
        if frame.removesuffix("/while_context") not in forward_frames:
            continue
        for i in members:
            if main.ops[i] != "Exit":
                continue
            t = main.attr(i, "T")
            dtype = dtype_name(t.type) if t is not None else "?"
            shape = shapes.shape(i)
            gathers = [c for c in cons[i] if main.ops[c] == "TensorArrayGatherV3"]
            for c in gathers:
                out.append(LoopExit(f"{main.names[c]}:0", "float32", shapes.shape(c)))
            if dtype.startswith("float") and shape != () and not gathers:
                out.append(LoopExit(f"{main.names[i]}:0", dtype, shape))
    for i, op in enumerate(main.ops):
        if op not in WHILE_OPS or roles[i] != "forward":
            continue
        node = main.node(i)
        types = list(node.attr["T"].list.type)
        invariant = _invariant_outputs(graphs, node)
        by_port: dict[int, list[int]] = {}
        for c in cons[i]:
            for j, port in main.data_inputs(c):
                if j == i:
                    by_port.setdefault(port, []).append(c)
        for port, dtype_enum in enumerate(types):
            dtype = dtype_name(dtype_enum)
            if dtype == "variant":
                for c in _through_identity(main, cons, by_port.get(port, [])):
                    if main.ops[c] == "TensorListStack":
                        out.append(LoopExit(f"{main.names[c]}:0", "float32", shapes.shape(c)))
            elif (
                dtype.startswith("float") and port not in invariant and shapes.shape(i, port) != ()
            ):
                out.append(LoopExit(f"{main.names[i]}:{port}", dtype, shapes.shape(i, port)))
    return out


def _invariant_outputs(graphs: GraphSet, node: Any) -> set[int]:
    """Outputs of a v2 While whose body returns the matching argument unchanged."""
    body = graphs.function_def(node.attr["body"].func.name) if "body" in node.attr else None
    if body is None:
        return set()
    args = [a.name for a in body.signature.input_arg]
    outs = [a.name for a in body.signature.output_arg]
    ret = body.ret
    return {k for k, name in enumerate(outs) if k < len(args) and ret.get(name, "") == args[k]}


def _through_identity(main: GraphIndex, cons: list[list[int]], start: list[int]) -> list[int]:
    seen, todo, out = set(start), list(start), []
    while todo:
        c = todo.pop()
        out.append(c)
        if main.ops[c] == "Identity":
            for d in cons[c]:
                if d not in seen:
                    seen.add(d)
                    todo.append(d)
    return out


def summarize_states(
    tensors: Sequence[StateTensor], exits: Sequence[LoopExit], unrolled_steps: int, recurrent: bool
) -> StatesSummary:
    by_kind = dict(sorted(Counter(t.kind for t in tensors).items()))
    if not recurrent:
        words = "No recurrent structure was found, so there are no per-step states."
    elif tensors:
        cells = len({(t.layer, t.direction) for t in tensors})
        words = (
            f"Unrolled graph: every time step's state can be fetched: {len(tensors)} per-step tensors "
            f"({unrolled_steps} steps x {cells} cell(s) x {', '.join(by_kind)}). "
            "This is the source's claim 4: a static graph holds every step's intermediate state."
        )
    elif not exits:
        words = (
            "Loop graph: no per-step state can be fetched; the loops run inside library functions "
            "(traced calls), so even their outputs are only reachable through those calls. "
            "This is the source's claim 4: a dynamic graph holds only the last state."
        )
    else:
        words = (
            f"Loop graph: no per-step state can be fetched; only {len(exits)} tensor(s) leave the loop "
            "(the stacked top-layer outputs and the final states). The per-step h, c and gates live "
            "inside the loop body. This is the source's claim 4: a dynamic graph holds only the last state."
        )
    return StatesSummary(len(tensors), by_kind, tuple(tensors), tuple(exits), words)


__all__ = ["from_record", "infer_states", "loop_exits", "summarize_states"]
