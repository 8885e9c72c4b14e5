"""How many times each loop runs, when the graph fixes it, and the steps a user or spec gives.

From the graph, the smallest of:
* **static shape**: the time dimension of the tensor the loop reads step by step: what a
  `TensorListFromTensor` (v2) or `TensorArrayScatterV3` (v1) unstacks, when its shape is known;
* **constant bound**: a v2 loop's `maximum_iterations` input, or its condition `counter < N`
  (`Less`/`LessEqual`/`Greater`) with N and the counter's start known (the counter is assumed to
  step by one, as every loop TensorFlow's RNN functions write does).
A gradient loop runs as often as the forward loop it differentiates. Otherwise: the spec's T for
a model rnnviz built, then the user's `steps` (one number for every loop still unknown, or
`{"loop name": n}` for one loop). Not here: finding loops (`loops.py`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

from rnnviz.errors import StepsError
from rnnviz.reporting.graph import GraphIndex, GraphSet
from rnnviz.reporting.loops import Body, Child
from rnnviz.reporting.model import LoopInfo
from rnnviz.reporting.shapes import Shapes

Trip = tuple[int, str]  # (trip count, source)
Steps = int | Mapping[str, int] | None
EVERY_LOOP = "*"  # in a steps mapping: the trip count of every loop not named and not known

_LESS = frozenset({"Less", "LessEqual"})
_PASS_THROUGH = frozenset(
    {"Identity", "Merge", "RefMerge", "Enter", "RefEnter", "Switch", "RefSwitch"}
)
_SWITCHES = frozenset({"Switch", "RefSwitch"})
_GRAD_PREFIX = re.compile(r"^gradients(_\d+)?/")


def check_steps(steps: Any) -> Steps:
    """Refuse zero, negative and non-integer steps with one line (the user typed them)."""
    if steps is not None and not isinstance(steps, int | Mapping):
        raise StepsError(f"steps must be a number or {{loop name: number}}, got {steps!r}")
    items = steps.items() if isinstance(steps, Mapping) else [(EVERY_LOOP, steps)]
    for name, n in items:
        if n is None and name == EVERY_LOOP:
            continue
        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            where = f" for loop {name!r}" if name != EVERY_LOOP else ""
            raise StepsError(
                f"steps{where} must be a positive whole number of time steps, got {n!r}"
            )
    return steps


def parse_steps(values: Sequence[str] | None) -> Steps:
    """`--steps` as typed, repeatable: `12` (every loop of unknown length) and `LOOP=7`."""
    if not values:
        return None
    named: dict[str, int] = {}
    for text in values:
        name, sep, number = text.rpartition("=")
        key = name.strip() if sep else EVERY_LOOP
        try:
            named[key] = int(number)
        except ValueError:
            raise StepsError(
                f"--steps {text}: give a number of time steps (12) or LOOP=12"
            ) from None
    check_steps(named)
    if list(named) == [EVERY_LOOP]:
        return named[EVERY_LOOP]
    return named


def graph_trips(graphs: GraphSet, root: Body) -> dict[str, Trip]:
    """Loop name -> the trip count the graph itself fixes (loops it leaves open are absent)."""
    out: dict[str, Trip] = {}
    todo = [root]
    while todo:
        caller = todo.pop()
        for child in caller.children:
            todo += child.bodies
            if child.how == "loop" and child.loop is not None and child.bodies:
                found = _found(graphs, caller, child)
                if found:
                    out[child.loop] = min(found)
    return out


def _found(graphs: GraphSet, caller: Body, child: Child) -> list[Trip]:
    body = child.bodies[0]
    if caller.gi is body.gi:  # a v1 frame: its nodes are in the main graph
        return _v1_static(body) + _v1_less(body)
    return _v2_static(caller, child.node, body) + _v2_bound(graphs, caller, child.node)


# ---- v2: While op, body and cond functions ------------------------------------------------------
def _v2_static(caller: Body, i: int, body: Body) -> list[Trip]:
    """Time dimension of the tensors the body reads with TensorListGetItem."""
    out = []
    args = body.gi.arg_names
    for n in range(len(body.gi)):
        if body.gi.ops[n] != "TensorListGetItem":
            continue
        j, _, arg = body.gi.inputs(n)[0]
        if j is not None or arg not in args:
            continue
        producer = _producer(caller, i, args.index(arg))
        if producer is not None and caller.gi.ops[producer] == "TensorListFromTensor":
            shape = caller.shapes.input_shape(producer, 0)
            if shape and shape[0] is not None:
                out.append((int(shape[0]), "static shape"))
    return out


def _producer(caller: Body, i: int, k: int) -> int | None:
    ins = caller.gi.inputs(i)
    if k >= len(ins) or ins[k][0] is None:
        return None
    return caller.gi.walk_back(ins[k][0], frozenset({"TensorListFromTensor"}), hops=4)


def _v2_bound(graphs: GraphSet, caller: Body, i: int) -> list[Trip]:
    """maximum_iterations (input 1), and `counter < N` in the cond function."""
    out = []
    limit = caller.shapes.int_values(i, 1)
    if limit is not None and len(limit) == 1 and limit[0] is not None and limit[0] >= 0:
        out.append((int(limit[0]), "constant bound"))
    node = caller.gi.node(i)
    cond_name = node.attr["cond"].func.name if "cond" in node.attr else ""
    cond = graphs.function(cond_name) if cond_name else None
    if cond is None:
        return out
    cond_shapes = Shapes(cond)

    def value(j: int | None, arg: str | None) -> int | None:
        if j is None:
            k = cond.arg_names.index(arg) if arg in cond.arg_names else -1
            got = caller.shapes.int_values(i, k) if k >= 0 else None
        else:
            got = cond_shapes.int_values_of(j)
        return got[0] if got is not None and len(got) == 1 else None

    for n, op in enumerate(cond.ops):
        trip = _comparison(cond, n, op, value)
        if trip is not None:
            out.append((trip, "constant bound"))
    return out


def _comparison(gi: GraphIndex, n: int, op: str, value: Any) -> int | None:
    """`counter < N` (or <=, or N > counter) with start and N known: N - start (+1 for <=)."""
    if op not in _LESS and op not in ("Greater", "GreaterEqual"):
        return None
    ins = gi.inputs(n)
    if len(ins) != 2:
        return None
    counter, bound = (ins[0], ins[1]) if op in _LESS else (ins[1], ins[0])
    start, limit = value(counter[0], counter[2]), value(bound[0], bound[2])
    if start is None or limit is None:
        return None
    inclusive = op in ("LessEqual", "GreaterEqual")
    return max(limit - start + (1 if inclusive else 0), 0)


# ---- v1: frames in the main graph ---------------------------------------------------------------
def _v1_static(body: Body) -> list[Trip]:
    """Time dimension of what the frame reads step by step: a TensorArrayScatterV3's value (TF1
    while_loop), or a TensorListFromTensor's tensor (a v2 loop lowered to a frame by freezing)."""
    gi, out = body.gi, []
    for i in body.members:
        op = gi.ops[i]
        if op == "TensorArrayReadV3" and not _conditional(gi, i):
            out += _scattered(body, i)
        elif op == "TensorListGetItem":
            ins = gi.data_inputs(i)
            j = _outside(gi, ins[0][0]) if ins else None
            if j is not None and gi.ops[j] == "TensorListFromTensor":
                out += _leading(body.shapes.input_shape(j, 0))
    return out


def _scattered(body: Body, read: int) -> list[Trip]:
    gi = body.gi
    ins = gi.data_inputs(read)
    array = gi.walk_back(ins[0][0], frozenset({"TensorArrayV3"})) if ins else None
    out: list[Trip] = []
    for c in gi.consumers()[array] if array is not None else ():
        if gi.ops[c] == "TensorArrayScatterV3":
            out += _leading(body.shapes.input_shape(c, 2))
    return out


def _leading(shape: tuple[int | None, ...] | None) -> list[Trip]:
    return [(int(shape[0]), "static shape")] if shape and shape[0] is not None else []


def _conditional(gi: GraphIndex, i: int) -> bool:
    """A read inside a `tf.cond` branch (its inputs come through a Switch that is not the loop's
    own): it may not run every step, so it bounds nothing (raw_rnn reads only unfinished steps)."""
    for j, _ in gi.data_inputs(i):
        j = gi.walk_back(j, _SWITCHES, through=frozenset({"Identity"}), hops=3) or j
        if gi.ops[j] in _SWITCHES:
            pred = gi.data_inputs(j)[1:2]
            if pred and gi.ops[pred[0][0]] != "LoopCond":
                return True
    return False


def _outside(gi: GraphIndex, j: int) -> int | None:
    """The node outside the loop that a value inside it comes from (through the loop's Identity,
    Switch, Merge and Enter): a loop-invariant or a loop variable's initial value."""
    return gi.walk_back(j, None, through=_PASS_THROUGH, hops=12)


def _v1_less(body: Body) -> list[Trip]:
    gi, shapes = body.gi, body.shapes

    def value(j: int | None, _arg: str | None) -> int | None:
        j = _outside(gi, j) if j is not None else None
        got = shapes.int_values_of(j) if j is not None else None
        return got[0] if got is not None and len(got) == 1 else None

    out = []
    for n in body.members:
        trip = _comparison(gi, n, gi.ops[n], value)
        if trip is not None:
            out.append((trip, "constant bound"))
    return out


# ---- after the graph: gradients, spec, user -----------------------------------------------------
def settle(loops: Sequence[LoopInfo], spec: Any, steps: Steps) -> list[LoopInfo]:
    """Trip counts the graph left open: a gradient loop's forward twin, the spec, the user."""
    named = dict(steps) if isinstance(steps, Mapping) else {}
    unknown_all = steps if isinstance(steps, int) else named.pop(EVERY_LOOP, None)
    by_name = {lp.name: lp for lp in loops}
    wanted = {_match(name, loops): n for name, n in named.items()}
    # Loops that differentiate no other loop first, so that gradient loops find their twins'.
    for gradients in (False, True):
        for lp in loops:
            if (lp.role == "gradients") != gradients:
                continue
            trip, source = lp.trip_count, lp.trip_count_source
            if lp.name in wanted:
                trip, source = wanted[lp.name], "user"
            twin = _forward_twin(lp, by_name) if trip is None and gradients else None
            if twin is not None and twin.trip_count is not None:
                trip, source = twin.trip_count, twin.trip_count_source
            if trip is None and spec is not None and lp.role in ("forward", "gradients"):
                trip, source = int(spec.time_steps), "spec"
            if trip is None and unknown_all is not None:
                trip, source = unknown_all, "user"
            by_name[lp.name] = dataclasses.replace(lp, trip_count=trip, trip_count_source=source)
    return [by_name[lp.name] for lp in loops]


def _match(name: str, loops: Sequence[LoopInfo]) -> str:
    """The loop a user named: its full name, or a unique '/'-bounded end of it."""
    names = [lp.name for lp in loops]
    if name in names:
        return name
    hits = [n for n in names if n.endswith("/" + name)]
    if len(hits) == 1:
        return hits[0]
    listed = ", ".join(names) if names else "none"
    what = "matches several loops" if hits else "is not a loop of this graph"
    raise StepsError(f"--steps {name}=N: {name!r} {what}; loops: {listed}")


def _forward_twin(loop: LoopInfo, by_name: Mapping[str, LoopInfo]) -> LoopInfo | None:
    """The forward loop a gradient loop differentiates: named inside the gradient's name."""
    rest = _GRAD_PREFIX.sub("", loop.name)
    best = None
    for name, lp in by_name.items():
        if lp.role == "forward" and name in rest and (best is None or len(name) > len(best.name)):
            best = lp
    return best


__all__ = ["EVERY_LOOP", "Steps", "Trip", "check_steps", "graph_trips", "parse_steps", "settle"]
