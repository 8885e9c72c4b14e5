"""The structure view model (rnnviz.structure): block counts, the element cap, expand/collapse,
positions. Small real graphs (T <= 9, 8 units) for the counts; a synthetic GraphDef for large T."""

from __future__ import annotations

import pytest

from rnnviz.builder import build
from rnnviz.spec import LayerSpec, ModelSpec
from rnnviz.structure import (
    EXPAND_MAX_OPS,
    MAX_ELEMENTS,
    collapse,
    expand,
    make_view,
    partition,
    toggle,
)
from rnnviz.tfcompat import v1

FIXED = {"role/forward/inputs", "role/forward/head", "role/forward/loss", "role/gradients"}


def _spec(unroll: str, steps: int, bidirectional: bool = False, cf: str = "v2") -> ModelSpec:
    return ModelSpec(
        name=f"t_{unroll}",
        layers=(LayerSpec("lstm", 8), LayerSpec("gru", 8)),
        unroll=unroll,
        bidirectional=bidirectional,
        time_steps=steps,
        input_size=4,
        num_classes=3,
        control_flow=cf,
    )


def _part(spec: ModelSpec):
    model = build(spec)
    return partition(model.graph_def(), step_tensors=model.step_tensors)


def _check_view(view) -> None:
    ids = [n["id"] for n in view.nodes]
    assert len(ids) == len(set(ids))
    known = set(ids)
    for e in view.edges:
        assert e["source"] in known and e["target"] in known, e
    assert view.n_elements <= MAX_ELEMENTS


@pytest.mark.slow
@pytest.mark.parametrize(("bidirectional", "steps"), [(False, 5), (True, 3)])
def test_unrolled_blocks_are_layers_x_directions_x_steps(bidirectional: bool, steps: int) -> None:
    spec = _spec("static", steps, bidirectional)
    part = _part(spec)
    step_blocks = [b for b in part.blocks.values() if b.kind == "step"]
    n_dirs = 2 if bidirectional else 1
    assert len(step_blocks) == 2 * n_dirs * steps
    assert part.time_steps == steps
    assert {(b.layer, b.direction) for b in step_blocks} == {
        (layer, d) for layer in range(2) for d in (("fw", "bw") if bidirectional else ("fw",))
    }
    assert set(part.blocks) >= FIXED, sorted(part.blocks)
    assert {"role/optimizer", "role/save_restore", "role/initialization"} <= set(part.blocks)
    assert not part.loops
    view = make_view(part)
    assert view.group == 1
    _check_view(view)
    # Every node is in exactly one block.
    assert sum(b.n_ops for b in part.blocks.values()) == part.n_nodes
    # Layout: x grows with the time step along a row, rows are layer/direction.
    pos = {n["id"]: (n["x"], n["y"]) for n in view.nodes}
    row0 = sorted((b.step, pos[b.id]) for b in step_blocks if b.layer == 0 and b.direction == "fw")
    assert [p[0] for _, p in row0] == sorted({p[0] for _, p in row0})
    assert len({p[1] for _, p in row0}) == 1
    assert pos["role/forward/inputs"][0] < row0[0][1][0] < pos["role/forward/head"][0]


@pytest.mark.slow
@pytest.mark.parametrize("cf", ["v2", "v1"])
def test_loop_graph_blocks_do_not_change_with_t(cf: str) -> None:
    small, big = _part(_spec("dynamic", 3, cf=cf)), _part(_spec("dynamic", 9, cf=cf))
    assert sorted(small.blocks) == sorted(big.blocks)
    assert small.time_steps == 0 and small.loops
    assert "loop/rnn/while" in small.loops
    view = make_view(small)
    _check_view(view)
    loop = small.blocks["loop/rnn/while"]
    if cf == "v2":  # the body function's ops, not the one While op of the main graph
        assert loop.detail.startswith("rnn_while_body")
    assert loop.n_ops > 20
    opened = expand(view, "loop/rnn/while")
    children = [n for n in opened.nodes if n.get("parent") == "loop/rnn/while"]
    assert len(children) == min(loop.n_ops, EXPAND_MAX_OPS) + (loop.n_ops > EXPAND_MAX_OPS)
    assert any(n.get("op") == "MatMul" for n in children)
    _check_view(opened)
    assert collapse(opened, "loop/rnn/while").n_elements == view.n_elements


@pytest.mark.slow
def test_expand_and_collapse_a_step_block() -> None:
    part = _part(_spec("static", 4))
    view = make_view(part)
    block = "L1/fw/t2"
    opened = expand(view, block)
    assert opened.expanded == {block}
    ops = [n for n in opened.nodes if n.get("parent") == block]
    assert len(ops) == part.blocks[block].n_ops
    assert {n["op"] for n in ops} >= {"MatMul", "Sigmoid"}
    assert any(e["source"].startswith(block + "::") for e in opened.edges)
    _check_view(opened)
    again = collapse(opened, block)
    assert again.nodes == view.nodes and again.edges == view.edges
    # A click on one of its ops collapses it too.
    assert toggle([block], ops[0]["id"]) == []
    assert toggle([], block) == [block]
    assert make_view(part) == make_view(part)  # deterministic


def _synthetic(steps: int, layers: int, ops_per_step: int):
    """A GraphDef shaped like an unrolled stack, classification given (no TF build needed)."""
    gd = v1.GraphDef()
    steps_of, roles = {}, {}
    gd.node.add(name="inputs/x", op="Placeholder")
    roles["inputs/x"] = "forward"
    prev = {}
    for t in range(steps):
        for layer in range(layers):
            below = prev.get((layer - 1, t)) if layer else "inputs/x"
            last = prev.get((layer, t - 1))
            for k in range(ops_per_step):
                name = f"rnn/cell_{layer}/op_{t}_{k}"
                node = gd.node.add(name=name, op="MatMul" if k == 0 else "Add")
                if k == 0:
                    node.input.extend([x for x in (below, last) if x])
                else:
                    node.input.append(f"rnn/cell_{layer}/op_{t}_{k - 1}")
                steps_of[name] = (layer, "fw", t)
                roles[name] = "forward"
            prev[(layer, t)] = name
            g = gd.node.add(name=f"gradients/g_{layer}_{t}", op="Mul", input=[name])
            roles[g.name] = "gradients"
    return gd, steps_of, roles


@pytest.mark.slow
def test_element_cap_holds_at_large_t() -> None:
    gd, steps_of, roles = _synthetic(steps=3000, layers=3, ops_per_step=3)
    part = partition(gd, steps=steps_of, roles=roles, loops={})
    assert len([b for b in part.blocks.values() if b.kind == "step"]) == 9000
    view = make_view(part)
    assert view.group > 1  # steps grouped into ranges
    _check_view(view)
    first = next(n for n in view.nodes if n["kind"] == "step")
    assert "-" in first["label"].split("\n")[0]
    # Expanding a range or the huge gradients block shows the first ops and "+k more".
    opened = expand(expand(view, first["id"]), "role/gradients")
    _check_view(opened)
    more = [n for n in opened.nodes if n["kind"] == "more"]
    assert len(more) == 2
    assert any(n["label"].startswith("+") for n in more)


def test_many_top_scopes_are_pooled() -> None:
    gd = v1.GraphDef()
    for i in range(200):
        gd.node.add(name=f"scope{i}/op", op="Const")
    part = partition(gd, steps={}, roles={n.name: "forward" for n in gd.node}, loops={})
    assert len(part.blocks) == 25  # MAX_SCOPE_BLOCKS kept + one pool
    assert part.blocks["role/forward/(other scopes)"].n_ops == 200 - 24
    _check_view(make_view(part))


@pytest.mark.slow
@pytest.mark.parametrize(("unroll", "bidirectional"), [("static", True), ("dynamic", False)])
def test_shared_index_matches_the_reports_public_functions(
    unroll: str, bidirectional: bool
) -> None:
    """partition() calls the report's building blocks on one index for speed: same answer as
    the published op_steps / op_roles / find_loops."""
    from rnnviz.reporting.loops import find_loops
    from rnnviz.reporting.roles import op_roles
    from rnnviz.reporting.timesteps import op_steps

    model = build(_spec(unroll, 3, bidirectional))
    gd = model.graph_def()
    fast = partition(gd, step_tensors=model.step_tensors)
    loops = {}
    for loop in find_loops(gd):
        if loop.in_function:
            continue
        names = [loop.name] if loop.kind == "v2_while" else loop.body_nodes
        for name in names:
            loops.setdefault(name, (f"loop/{loop.name}", loop.body_function or ""))
    slow = partition(gd, steps=op_steps(gd, model.step_tensors), roles=op_roles(gd), loops=loops)
    assert {b: x.n_ops for b, x in fast.blocks.items()} == {
        b: x.n_ops for b, x in slow.blocks.items()
    }
    assert fast.edges == slow.edges
