"""The structure view model (rnnviz.structure): block counts, the element cap, expand/collapse,
positions. Small real graphs (T <= 9, 8 units) for the counts; a synthetic GraphDef for large T."""

from __future__ import annotations

import pytest

from rnnviz.builder import build
from rnnviz.cellkinds import CELL_KINDS
from rnnviz.reporting.analysis import analyse
from rnnviz.spec import LayerSpec, ModelSpec
from rnnviz.structure import (
    COLLAPSED_BUDGET,
    EXPAND_MAX_OPS,
    MAX_ELEMENTS,
    OPS,
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
    return partition(build(spec))


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
    # First click: the loop as a loop; second: its ops; third: closed again.
    as_loop = expand(view, "loop/rnn/while")
    kinds = {n["kind"] for n in as_loop.nodes if n.get("block") == "loop/rnn/while"}
    assert {"loopop", "cond", "body"} <= kinds
    as_ops = expand(as_loop, "loop/rnn/while")
    children = [n for n in as_ops.nodes if n.get("parent") == "loop/rnn/while"]
    assert len(children) == min(loop.n_ops, EXPAND_MAX_OPS) + (loop.n_ops > EXPAND_MAX_OPS)
    assert any(n.get("op") == "MatMul" for n in children)
    _check_view(as_ops)
    closed = expand(as_ops, "loop/rnn/while")
    assert closed.n_elements == view.n_elements
    assert collapse(as_loop, "loop/rnn/while").n_elements == view.n_elements


@pytest.mark.slow
def test_expand_and_collapse_a_step_block() -> None:
    part = _part(_spec("static", 4))
    view = make_view(part)
    block = "L1/fw/t2"
    as_cell = expand(view, block)  # a recognised cell opens on its cell view
    assert as_cell.expanded == {block}
    assert {n["kind"] for n in as_cell.nodes if n.get("parent") == block} >= {"gate", "state"}
    opened = expand(as_cell, block)
    assert opened.expanded == {block + OPS}
    ops = [n for n in opened.nodes if n.get("parent") == block]
    assert len(ops) == part.blocks[block].n_ops
    assert {n["op"] for n in ops} >= {"MatMul", "Sigmoid"}
    assert any(e["source"].startswith(block + "::") for e in opened.edges)
    _check_view(opened)
    again = collapse(opened, block)
    assert again.nodes == view.nodes and again.edges == view.edges
    # A click on one of its ops selects it only: the block stays open.
    assert toggle([block + OPS], ops[0]["id"]) == [block + OPS]
    assert toggle([], block, "step") == [block]
    assert toggle([block], block, "step") == [block + OPS]
    assert toggle([block + OPS], block, "step") == []
    assert toggle([], "role/gradients", "role") == ["role/gradients" + OPS]  # no cell view
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


# What a 1600 x 1000 window shows: the cytoscape panel's size (measured in Chromium), the block
# sizes app/figures.py draws unless a node carries its own (w, h), and explorer.js's rule for a
# label: drawn max(12, 12 / zoom) model px high (so >= 12 px on screen) if its widest line fits
# the box (0.6 x font per character, 4 % margin) and its lines fit the height (1.2 x font each).
SCREEN_PANEL = (755, 560)
DRAWN = {"step": (150, 76), "role": (210, 76), "loop": (210, 90)}


def _size(node: dict) -> tuple[float, float]:
    w, h = DRAWN.get(node["kind"], (150, 46))
    return node.get("w") or w, node.get("h") or h


def _fits(text: str, font: float, w: float, h: float) -> bool:
    lines = str(text).split("\n")
    return max(len(x) for x in lines) * font * 0.6 <= 0.96 * w and len(lines) * font * 1.2 <= h


def _label_px(node: dict, zoom: float) -> float:
    """On-screen size of the label explorer.js draws on `node` at `zoom` (0: none)."""
    font = max(12.0, 12.0 / zoom)
    w, h = _size(node)
    if _fits(node["label"], font, w, h) or (node.get("short") and _fits(node["short"], font, w, h)):
        return font * zoom
    return 0.0


def _fitted_zoom(nodes: list[dict]) -> float:
    """cy.fit(padding 12) of the drawn blocks into the panel."""
    x1 = min(n["x"] - _size(n)[0] / 2 for n in nodes)
    x2 = max(n["x"] + _size(n)[0] / 2 for n in nodes)
    y1 = min(n["y"] - _size(n)[1] / 2 for n in nodes)
    y2 = max(n["y"] + _size(n)[1] / 2 for n in nodes)
    return min((SCREEN_PANEL[0] - 24) / (x2 - x1), (SCREEN_PANEL[1] - 24) / (y2 - y1))


@pytest.mark.parametrize("steps", [28, 200, 784])
def test_first_view_labels_every_block_at_11px_at_any_t(steps: int) -> None:
    """The first view, fitted into the panel, draws a label on every block, >= 11 px on screen;
    long sequences are step ranges whose finer ranges (single steps when the budget allows) are
    placed inside them, legible once zoomed in (explorer.js shows them then)."""
    gd, steps_of, roles = _synthetic(steps=steps, layers=3, ops_per_step=3)
    part = partition(gd, steps=steps_of, roles=roles, loops={})
    view = make_view(part)
    _check_view(view)
    assert view.n_elements <= COLLAPSED_BUDGET
    blocks = [n for n in view.nodes if n["kind"] in DRAWN]
    zoom = _fitted_zoom(blocks)
    px = {n["id"]: _label_px(n, zoom) for n in blocks}
    assert min(px.values()) >= 11, sorted(px.items(), key=lambda kv: kv[1])[:5]
    # No two blocks overlap (the widened columns and taller rows moved them apart).
    boxes = sorted(
        ((n["x"] - _size(n)[0] / 2, n["x"] + _size(n)[0] / 2, n) for n in blocks),
        key=lambda box: box[0],
    )
    for i, (_, a2, a) in enumerate(boxes):
        for b1, _, b in boxes[i + 1 :]:
            if b1 >= a2:
                break
            gap = abs(a["y"] - b["y"]) - (_size(a)[1] + _size(b)[1]) / 2
            assert gap >= 0, (a["id"], b["id"])
    if steps == 28:
        assert view.group == 1 and not [n for n in view.nodes if n["kind"] == "sub"]
        return
    # Fewer, wider ranges than the element budget alone would draw; finer ones inside.
    assert view.group > 1 and view.sub_group < view.group
    first = next(n for n in blocks if n["kind"] == "step")
    assert first["short"] == f"t0–{view.group - 1}"
    subs = [n for n in view.nodes if n["kind"] == "sub"]
    assert len(subs) == 3 * -(-steps // view.sub_group)  # every range of every row
    if steps == 200:
        assert view.sub_group == 1  # single steps when zoomed in
    by_id = {n["id"]: n for n in blocks}
    for sub in subs:
        outer = by_id[sub["block"]]
        (ow, oh), (sw, sh) = _size(outer), _size(sub)
        assert abs(sub["x"] - outer["x"]) + sw / 2 <= ow / 2 + 0.1
        assert abs(sub["y"] - outer["y"]) + sh / 2 <= oh / 2 + 0.1
    # Each sub's label is legible at a zoom the panel allows (maxZoom 4), well before that.
    read = max(next(z / 100 for z in range(1, 401) if _label_px(s, z / 100) >= 11) for s in subs)
    assert read <= 1.5, read


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
def test_partition_of_the_analysis_matches_the_reports_public_functions(
    unroll: str, bidirectional: bool
) -> None:
    """partition() reads the analysis's classification: the same blocks and edges as the
    published op_steps / op_roles / find_loops passed explicitly."""
    from rnnviz.reporting.loops import find_loops
    from rnnviz.reporting.roles import op_roles
    from rnnviz.reporting.timesteps import op_steps

    model = build(_spec(unroll, 3, bidirectional))
    gd = model.graph_def()
    fast = partition(analyse(model))
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


def test_partition_never_classifies_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """One analysis per graph: partitioning an `Analysis` calls no classifier (issue 8)."""
    import rnnviz.reporting.loops as loops_mod
    import rnnviz.reporting.roles as roles_mod
    import rnnviz.reporting.timesteps as timesteps_mod

    a = analyse(build(_spec("static", 3)))
    a.calls  # noqa: B018  (built on first use by the analysis, not by the partition)

    def boom(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("classified again")

    for mod, names in (
        (timesteps_mod, ("tag_steps", "op_steps", "cell_calls", "loop_cells", "fused_cells")),
        (roles_mod, ("roles_of", "op_roles")),
        (loops_mod, ("loops_of", "find_loops", "walk_loops")),
    ):
        for name in names:
            if hasattr(mod, name):
                monkeypatch.setattr(mod, name, boom)
    part = partition(a)
    assert part.time_steps == 3 and part.templates


# ---- cell and loop views, layout, networkx export ---------------------------------------------


@pytest.fixture(scope="module")
def built() -> dict:
    """A static (LSTM, GRU; T=4) and a dynamic (v2 loop, T=4) model with their partitions and the
    report's facts (built once: each build takes seconds)."""
    import json

    from rnnviz.reporting import report
    from rnnviz.structure import Facts, Partition

    out = {}
    for unroll in ("static", "dynamic"):
        model = build(_spec(unroll, 4))
        gd = model.graph_def()
        a = analyse(model)
        rep = json.loads(json.dumps(report(a, memory=False, tfprof=False).to_dict()))
        # What the dashboard reads: the partition after its JSON round trip through the cache.
        part = Partition.from_dict(json.loads(json.dumps(partition(a).to_dict())))
        out[unroll] = {"gd": gd, "report": rep, "part": part, "facts": Facts.of(part), "a": a}
    return out


def _producer(raw: str) -> tuple[str, int]:
    name, _, port = raw.partition(":")
    return name, int(port or 0)


def _split_port(gd, name: str, seen: int = 0) -> int | None:
    """Walk back from an op to the Split output it reads (the gate's column block in TF's
    kernel): the dataflow says which gate an op computes, whatever the op is called."""
    nodes = {n.name: n for n in gd.node}
    todo = [(name, 0)]
    while todo:
        cur, depth = todo.pop()
        for raw in nodes[cur].input:
            src, port = _producer(raw)
            if src in nodes and nodes[src].op == "Split":
                return port
            if src in nodes and depth < 2 and nodes[src].op in ("AddV2", "Add"):
                todo.append((src, depth + 1))
    return None


def test_cell_view_names_the_gates_by_what_they_compute(built: dict) -> None:
    part, facts, gd = built["static"]["part"], built["static"]["facts"], built["static"]["gd"]
    view = make_view(part, ["L0/fw/t2", "L1/fw/t2"], facts=facts)
    inner = {n["id"]: n for n in view.nodes if n.get("parent") in ("L0/fw/t2", "L1/fw/t2")}
    # The gates drawn are the registry's gates of the kind the analysis found, and each gate
    # holds exactly the ops the analysis's CellCall.op_roles gives that gate (after the cache's
    # JSON round trip of the partition).
    calls = {(c.layer, c.step): c for c in built["static"]["a"].calls if c.form == "unrolled"}
    for layer, kind in ((0, "lstm"), (1, "gru")):
        call, block = calls[(layer, 2)], f"L{layer}/fw/t2"
        assert call.kind == kind
        gates = {
            n["gate"]: n for n in inner.values() if n["kind"] == "gate" and n["parent"] == block
        }
        assert list(gates) == [g.key for g in CELL_KINDS[kind].gates]
        for key, node in gates.items():
            want = {n for n, r in call.op_roles.items() if r == f"gate:{key}"}
            assert set(node["ops"]) == want, (kind, key)
    # TF's LSTM kernel holds the gates as column blocks i, j, f, o (Split outputs 0..3): each
    # LSTM gate node's Sigmoid/Tanh must read the Split output of its own gate.
    block_ops = {name for name, _ in part.block_ops("L0/fw/t2")[0]}
    for gate, port in (("i", 0), ("j", 1), ("f", 2), ("o", 3)):
        node = inner[f"L0/fw/t2::g{gate}"]
        assert node["ops"] and set(node["ops"]) <= block_ops
        acts = [n for n in node["ops"] if n.rsplit("/", 1)[-1].startswith(("Sigmoid", "Tanh"))]
        assert len(acts) == 1 and _split_port(gd, acts[0]) == port, (gate, node["ops"])
    # The weights it reads: the layer's own variables, from the graph's variables.
    variables = {n.name for n in gd.node if n.op in ("VariableV2", "VarHandleOp")}
    assert set(inner["L0/fw/t2::w"]["weights"]) <= variables
    assert any("cell_0" in w and w.endswith("kernel") for w in inner["L0/fw/t2::w"]["weights"])
    # Level 2: every op labelled by its role; the activations by their gate.
    ops = make_view(part, ["L0/fw/t2" + OPS], facts=facts).nodes
    by_name = {n["name"]: n for n in ops if n.get("kind") == "op"}
    sig = next(n for n in by_name if _split_port(gd, n) == 0 and by_name[n]["op"] == "Sigmoid")
    assert by_name[sig]["label"].startswith("i input gate")


def test_loop_view_shows_condition_trip_count_variables_and_back_edge(built: dict) -> None:
    part, facts, rep = (built["dynamic"][k] for k in ("part", "facts", "report"))
    loop = next(lp for lp in rep["loops"] if lp["name"] == "rnn/while")
    view = make_view(part, ["loop/rnn/while"], facts=facts)
    _check_view(view)
    inner = [n for n in view.nodes if n.get("block") == "loop/rnn/while"]
    cond = next(n for n in inner if n["kind"] == "cond")
    assert cond["trip"] == loop["trip_count"] == 4
    assert "trip count 4" in cond["label"]
    shown = [n for n in inner if n["kind"] == "var"]
    more = [n for n in inner if n["id"].endswith("::vmore")]
    hidden = int(more[0]["label"].split()[0][1:]) if more else 0
    assert len(shown) + hidden == len(loop["loop_vars"])
    assert any("[?×8]" in n["label"] for n in shown)  # the h/c states with their shapes
    assert [e for e in view.edges if e.get("cls") == "back"]
    # One cell box per cell call of the analysis's loop body, input side first, named by the
    # registry (the spec's layers: LSTM below GRU).
    cells = [n for n in inner if n["kind"] == "cellbox"]
    calls = sorted((c.layer, c.kind) for c in built["dynamic"]["a"].calls if c.form == "loop")
    assert [kind for _, kind in calls] == ["lstm", "gru"]
    assert [c["label"] for c in cells] == [
        f"{CELL_KINDS[kind].label} cell · layer {layer}" for layer, kind in calls
    ]
    head = next(n for n in inner if n["kind"] == "loopop")
    assert loop["body_function"] in head["label"]
    # Static and dynamic panels draw the same cell the same way.
    static = make_view(built["static"]["part"], ["L0/fw/t1"], facts=built["static"]["facts"])
    gates_static = [n["label"] for n in static.nodes if n.get("parent") == "L0/fw/t1"]
    gates_loop = [n["label"] for n in inner if n.get("parent") == cells[0]["id"]]
    assert sorted(gates_static) == sorted(gates_loop)


def _boxes(view) -> dict[str, tuple[float, float, float, float]]:
    """Approximate drawn boxes: blocks 210 x 90 at most; an expanded block spans its contents."""
    out = {}
    for n in view.nodes:
        if n["kind"] in ("step", "role", "loop") and not n["expanded"]:
            out[n["id"]] = (n["x"] - 105, n["y"] - 45, n["x"] + 105, n["y"] + 45)
    for block in view.expanded:
        block = block.removesuffix(OPS)
        xs = [n["x"] for n in view.nodes if n.get("block") == block and "x" in n]
        ys = [n["y"] for n in view.nodes if n.get("block") == block and "x" in n]
        out[block] = (min(xs) - 75, min(ys) - 23, max(xs) + 75, max(ys) + 23)
    return out


def test_expanding_two_blocks_makes_room_instead_of_covering(built: dict) -> None:
    part, facts = built["static"]["part"], built["static"]["facts"]
    before = make_view(part, facts=facts)
    view = make_view(part, ["L1/fw/t1", "L0/fw/t3" + OPS], facts=facts)
    assert {n["id"] for n in before.nodes} <= {n["id"] for n in view.nodes}
    boxes = _boxes(view)
    for opened in ("L1/fw/t1", "L0/fw/t3"):
        a = boxes[opened]
        for other, b in boxes.items():
            if other != opened:
                overlap = a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
                assert not overlap, (opened, other)


def test_networkx_export_is_the_block_graph(built: dict) -> None:
    import networkx as nx

    part, gd = built["static"]["part"], built["static"]["gd"]
    g = part.to_networkx()
    assert set(g.nodes) == set(part.blocks)
    assert g.nodes["L1/fw/t2"]["layer"] == 1 and g.nodes["L1/fw/t2"]["step"] == 2
    # Edge weights against a count made here from the GraphDef's own inputs.
    block_of = {part.names[i]: list(part.blocks)[b] for i, b in enumerate(part.node_block)}
    cross: dict[tuple[str, str], int] = {}
    for node in gd.node:
        for raw in node.input:
            src = raw.lstrip("^").partition(":")[0]
            a, b = block_of.get(src), block_of[node.name]
            if a is not None and a != b:
                cross[(a, b)] = cross.get((a, b), 0) + 1
    assert {(a, b): d["n"] for a, b, d in g.edges(data=True)} == cross
    # The recurrence: each step feeds the next one of its layer and the layer above.
    assert g.has_edge("L0/fw/t1", "L0/fw/t2") and g.has_edge("L0/fw/t1", "L1/fw/t1")
    assert nx.has_path(g, "L0/fw/t0", "L1/fw/t3")
    # The one-call entry point gives the same graph (steps inferred from a bare GraphDef).
    from rnnviz.structure import block_graph

    assert set(block_graph(gd).nodes) == set(partition(gd).blocks)


def test_layers_ignore_back_edges_and_respect_forward_ones() -> None:
    from rnnviz.structure.layout import layers

    order = {n: i for i, n in enumerate("abcde")}
    edges = [("a", "b"), ("b", "c"), ("c", "b"), ("a", "c"), ("c", "d"), ("e", "a")]
    got = layers(edges, order)
    assert got == {"a": 0, "b": 1, "c": 2, "d": 3, "e": 0}  # e -> a goes back in graph order
    for a, b in edges:
        if order[a] < order[b]:
            assert got[a] < got[b]


def test_crossings_count_and_dot_beats_the_plain_layering(built: dict) -> None:
    from rnnviz.structure.layout import crossings, dot_available, dot_layout, layered_layout

    square = {"a": (0, 0), "b": (1, 1), "c": (0, 1), "d": (1, 0)}
    assert crossings(square, [("a", "b"), ("c", "d")]) == 1  # the two diagonals
    assert crossings(square, [("a", "c"), ("d", "b")]) == 0  # the two sides
    assert crossings(square, [("a", "b"), ("a", "d")]) == 0  # a shared end is no crossing
    assert dot_available()  # Graphviz is a system dependency (Makefile: system-deps)
    part = built["dynamic"]["part"]
    ops, pairs = part.block_ops("loop/rnn/while")
    n = min(len(ops), EXPAND_MAX_OPS)
    pairs = [(a, b) for a, b in pairs if a < n and b < n]
    by_dot = dict(enumerate(dot_layout(n, pairs)))
    by_layers = dict(enumerate(layered_layout(n, pairs)))
    assert crossings(by_dot, pairs) <= crossings(by_layers, pairs)


def test_search_finds_an_op_and_the_block_that_holds_it(built: dict) -> None:
    import re

    from rnnviz.structure.view import find_ops

    part, facts = built["static"]["part"], built["static"]["facts"]
    hits = find_ops(part, r"cell_1/.*MatMul_2$")
    assert hits
    name, op, block = hits[0]
    assert op == "MatMul" and re.search(r"cell_1/.*MatMul_2$", name)
    i = part.names.index(name)
    assert list(part.blocks)[part.node_block[i]] == block
    # Opening that block on its ops draws the op (even past the per-block cap: `focus`).
    view = make_view(part, [block + OPS], facts=facts, focus=name, max_elements=200)
    assert any(n.get("name") == name for n in view.nodes)
    with pytest.raises(re.error):
        find_ops(part, "(")


def test_a_foreign_keras_graph_gets_step_blocks_with_gate_roles() -> None:
    """A graph rnnviz did not build (tf-keras LSTM, unroll=True, T=5): one step block per step,
    each drawn as the registry's cell with the analysis's gate roles, which the dataflow confirms
    (Keras splits the pre-activations into i, f, c, o: gate k reads Split output k)."""
    from rnnviz.tfcompat import tf

    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, (None, 5, 3))
        tf.keras.layers.LSTM(4, unroll=True)(x)
    gd = graph.as_graph_def()
    part = partition(gd)
    steps = sorted(b.step for b in part.blocks.values() if b.kind == "step")
    assert steps == [0, 1, 2, 3, 4] and part.rows == ((0, "fw"),)
    kind = CELL_KINDS["keras_lstm"]
    activation = {"sigmoid": "Sigmoid", "tanh": "Tanh"}
    ops = {n.name: n.op for n in gd.node}
    for step in steps:
        block = f"L0/fw/t{step}"
        view = make_view(part, [block])
        gates = [n for n in view.nodes if n.get("parent") == block and n["kind"] == "gate"]
        assert [n["gate"] for n in gates] == [g.key for g in kind.gates]
        for port, (gate, node) in enumerate(zip(kind.gates, gates, strict=True)):
            assert len(node["ops"]) == 1, (step, gate.key)
            op = node["ops"][0]
            assert ops[op] == activation[gate.activation]
            assert _split_port(gd, op) == port, (step, gate.key, op)


def test_the_gradient_loop_is_told_apart_at_the_first_view(built: dict) -> None:
    # A training graph's loop panel holds the forward loop and the loop of its gradients: far
    # out, their short labels say which is which (the report's loop roles, not names).
    rep = built["dynamic"]["report"]
    view = make_view(built["dynamic"]["part"], [], facts=built["dynamic"]["facts"])
    shorts = sorted(n["short"] for n in view.nodes if n["kind"] == "loop")
    roles = sorted(lp.get("role") or "forward" for lp in rep["loops"])
    assert shorts == sorted("gradient loop" if r == "gradients" else "while loop" for r in roles)
    assert "gradient loop" in shorts and "while loop" in shorts
