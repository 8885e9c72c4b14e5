"""The report API on rnnviz-built graphs: round trip, required keys, params vs tfprof, states,
loops, steps, FLOPs, memory and compare."""

from __future__ import annotations

import json

import pytest

from rnnviz.builder import build
from rnnviz.cli import main
from rnnviz.errors import StepsError
from rnnviz.reporting import GraphReport, analyse, compare, report
from rnnviz.reporting.flops import tfprof_params
from rnnviz.reporting.loops import find_loops
from rnnviz.reporting.roles import op_roles
from rnnviz.reporting.timesteps import op_steps
from rnnviz.spec import LayerSpec, load_spec, sample_names


def small(name: str, steps: int = 4, units: int = 8):
    spec = load_spec(name).with_steps(steps)
    layers = tuple(
        LayerSpec(**{**layer.__dict__, "units": units, "num_proj": layer.num_proj and units // 2})
        for layer in spec.layers
    )
    return spec.replace(layers=layers, input_size=5)


def get(data: dict, dotted: str):
    for key in dotted.split("."):
        data = data[key]
    return data


@pytest.fixture(scope="module")
def static_model():
    return build(small("multi_static_lstm"))


@pytest.fixture(scope="module")
def dynamic_model():
    return build(small("multi_dynamic_lstm"))


def test_round_trip_is_exact_through_json(static_model, dynamic_model):
    for model in (static_model, dynamic_model):
        r = report(model)
        again = GraphReport.from_dict(json.loads(json.dumps(r.to_dict())))
        assert again == r
        assert again.to_dict() == r.to_dict()


REQUIRED = [
    "ops.total",
    "ops.by_type",
    "params.total",
    "params.variables",
    "unrolled_steps",
    "loops",
    "states.per_step",
    "sizes.graphdef_bytes",
    "flops.forward_per_sequence",
    "recurrent",
]


def test_json_has_the_issue_keys(static_model, dynamic_model):
    s = report(static_model).to_dict()
    d = report(dynamic_model).to_dict()
    for key in REQUIRED:
        get(s, key)
        get(d, key)
    assert s["unrolled_steps"] == 4 and d["unrolled_steps"] == 0
    assert s["loops"] == [] and [lp["kind"] for lp in d["loops"]] == ["v2_while", "v2_while"]
    assert all(lp["body_ops"] > 0 for lp in d["loops"])
    assert s["recurrent"] is True and d["recurrent"] is True
    assert s["ops"]["total"] == sum(s["ops"]["by_type"].values())


def test_package_names_are_callable(static_model):
    import rnnviz
    import rnnviz.reporting.sources  # binds the package to rnnviz.report

    assert rnnviz.report(static_model).params.total == report(static_model).params.total
    assert rnnviz.compare(static_model, static_model).rows[0].ratio == 1.0


@pytest.mark.slow
@pytest.mark.parametrize("name", sample_names())
def test_params_equal_tfprof_on_every_sample(name):
    model = build(load_spec(name).with_steps(4))
    r = report(model, tfprof=False)
    assert r.params.total == tfprof_params(model.graph)
    assert sum(v.count for v in r.params.variables) == r.params.total
    # Layers found: one entry per (layer, direction) of the spec.
    spec = model.spec
    assert len(r.params.by_layer) == len(spec.layers) * len(spec.directions)
    assert [lp.cell for lp in r.params.by_layer if lp.direction == "fw"] == [
        "lstm" if layer.is_lstm else layer.cell for layer in spec.layers
    ]


def test_gate_columns_of_lstm_and_gru():
    r = report(build(small("multi_static_mix")))
    kernels = {v.name: v for v in r.params.variables if v.role == "kernel"}
    lstm = kernels["rnn/multi_rnn_cell/cell_0/lstm_cell/kernel"]
    assert [(g.gate, g.start, g.stop) for g in lstm.gates] == [
        ("i", 0, 8),
        ("j", 8, 16),
        ("f", 16, 24),
        ("o", 24, 32),
    ]
    gates = kernels["rnn/multi_rnn_cell/cell_1/gru_cell/gates/kernel"]
    assert [g.gate for g in gates.gates] == ["r", "u"]
    assert gates.gates[-1].stop == gates.shape[1]


def test_static_states_are_all_there_dynamic_only_exits(static_model, dynamic_model):
    s, d = report(static_model), report(dynamic_model)
    assert s.states.per_step == len(static_model.step_tensors) == 4 * 3 * 6
    assert s.states.by_kind == {k: 12 for k in "cfhijo"}
    assert d.states.per_step == 0
    # stacked top-layer outputs + (c, h) of 3 layers leave the loop
    names = [e.name for e in d.states.loop_exits]
    assert len(names) == 7 and any("TensorListStack" in n for n in names)
    assert "every time step" in s.states.summary and "claim 4" in s.states.summary
    assert "only" in d.states.summary and "leave the loop" in d.states.summary


@pytest.mark.slow
def test_inferred_states_match_builder_record():
    model = build(small("multi_bi_static_lstm"))
    from_file = report(model.graph_def())
    recorded = {
        (t.layer, t.direction, t.step, t.kind, t.name) for t in report(model).states.tensors
    }
    inferred = {(t.layer, t.direction, t.step, t.kind, t.name) for t in from_file.states.tensors}
    assert inferred == recorded
    assert from_file.timesteps.source == "inferred"


def test_op_steps_inferred_equals_record_and_covers_every_step():
    model = build(small("multi_bi_static_lstm", steps=5))
    gd = model.graph_def()
    inferred, recorded = op_steps(gd), op_steps(gd, model.step_tensors)
    assert inferred == recorded
    for st in model.step_tensors:
        assert inferred[st.name.split(":")[0]] == (st.layer, st.direction, st.step)
    assert {tag[2] for tag in inferred.values()} == set(range(5))
    roles = op_roles(gd)
    assert all(roles[name] == "forward" for name in inferred)


@pytest.mark.slow
def test_loops_v1_and_v2():
    v1 = build(small("v1_control_flow_lstm"))
    v2 = build(small("swap_memory_lstm"))
    l1 = find_loops(v1.graph_def())
    assert [(lp.kind, lp.role) for lp in l1] == [("v1_frame", "forward"), ("v1_frame", "gradients")]
    assert l1[0].name == "rnn/while" and "rnn/while/Exit_3" in l1[0].body_nodes
    assert l1[0].parallel_iterations == v1.spec.parallel_iterations
    # A GraphDef keeps no shapes for v1 loop variables; the report infers them.
    v1_vars = next(lp for lp in report(v1).loops if lp.role == "forward").loop_vars
    assert sum(v.shape == (None, 8) and v.dtype == "float32" for v in v1_vars) == 2 * len(
        v1.spec.layers
    )
    r2 = report(v2)
    fw = next(lp for lp in r2.loops if lp.role == "forward")
    assert fw.kind == "v2_while" and fw.body_function and fw.body_ops == len(fw.body_nodes)
    assert fw.parallel_iterations == v2.spec.parallel_iterations
    assert fw.swap_memory is True and fw.trip_count == 4
    assert any(v.shape == (None, 8) and v.dtype == "float32" for v in fw.loop_vars)
    assert r2.ops.function_ops == sum(r2.ops.function_by_type.values()) > 0


@pytest.mark.slow
def test_flops_static_equal_dynamic_and_tfprof_is_shown():
    s = report(build(small("multi_static_gru")))
    d = report(build(small("multi_dynamic_gru")))
    assert s.flops.forward_per_sequence > 0
    assert d.flops.forward_per_sequence == s.flops.forward_per_sequence  # fixed length: exact
    # tfprof misses the v2 loop body entirely; ours counts it T times
    assert d.flops.tfprof < d.flops.forward_per_sequence
    assert "not at all" in d.flops.tfprof_note


def test_dynamic_file_needs_steps_for_flops(dynamic_model, tmp_path):
    path = tmp_path / "dyn.pb"
    path.write_bytes(dynamic_model.graph_def().SerializeToString())
    assert report(path).flops.forward_per_sequence is None
    assert (
        report(path, steps=4).flops.forward_per_sequence
        == report(dynamic_model).flops.forward_per_sequence
    )


@pytest.mark.slow
def test_memory_static_vs_dynamic_and_compare(static_model, dynamic_model):
    s = report(static_model, memory=True, batch=4)
    d = report(dynamic_model, memory=True, batch=4)
    assert s.memory.peak_bytes > 0 and d.memory.peak_bytes > 0
    assert s.memory.naive_sum_bytes >= s.memory.peak_bytes
    c = compare(s, d)
    rows = {row.figure: row for row in c.rows}
    assert rows["params.total"].ratio == 1.0
    assert rows["ops.total"].ratio < 1.0  # the loop graph is smaller
    assert rows["memory.peak_bytes"].a == s.memory.peak_bytes
    assert rows["states.per_step"].b == 0


def test_report_tags_every_forward_op_of_the_cells(static_model):
    r = report(static_model)
    assert r.timesteps.tags == op_steps(static_model.graph_def(), static_model.step_tensors)
    assert r.timesteps.tagged_ops == len(r.timesteps.tags) == 4 * r.timesteps.ops_per_step
    steps = {tag[2] for tag in r.timesteps.tags.values()}
    assert steps == {0, 1, 2, 3}


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in sample_names() if load_spec(n).is_static])
def test_inferred_steps_agree_with_the_record_on_every_static_sample(name):
    model = build(load_spec(name).with_steps(4))
    inferred = op_steps(model.graph_def())
    for st in model.step_tensors:
        assert inferred[st.name.split(":")[0]] == (st.layer, st.direction, st.step), st.name


def test_one_analysis_feeds_the_report(tmp_path, tiny_lstm_spec):
    """report(analyse(x)) is report(x), for a built model and for its file; the analysis holds
    the step tags, roles and loops the report lists (nothing is classified twice)."""
    model = build(tiny_lstm_spec)
    path = tmp_path / "g.pb"
    path.write_bytes(model.graph_def().SerializeToString())
    for source in (model, path):
        a = analyse(source)
        r = report(a)
        assert r == report(source)
        assert r.timesteps.tags == a.step_tags()
        assert r.ops.by_role == {k: a.roles.count(k) for k in r.ops.by_role}
        assert r.loops == a.loops
        assert {t[2] for t in a.step_tags().values()} == set(range(tiny_lstm_spec.time_steps))
    with pytest.raises(TypeError):
        report(a, steps=3)


def _matmul_loops(nested: bool):
    """Loops of h = tanh(h @ w) (w [4, 4]: 32 + 4 FLOPs a step at batch 1). Not nested: two
    loops bounded by a placeholder `n` (unknown). Nested: outer t < 4, inner s < 3 (constants)."""
    from rnnviz.tfcompat import control_flow, tf, v1

    graph = tf.Graph()
    with graph.as_default(), control_flow("v2"):
        h0 = v1.placeholder(tf.float32, [None, 4], name="h0")
        n = v1.placeholder(tf.int32, [], name="n")
        w = v1.get_variable("w", [4, 4])

        def step(h):
            return tf.tanh(tf.matmul(h, w))

        def inner(h):
            return v1.while_loop(lambda s, h: s < 3, lambda s, h: (s + 1, step(h)), (0, h))[1]

        if nested:
            v1.while_loop(lambda t, h: t < 4, lambda t, h: (t + 1, inner(h)), (0, h0), name="outer")
        else:
            for name in ("first", "second"):
                v1.while_loop(lambda t, h: t < n, lambda t, h: (t + 1, step(h)), (0, h0), name=name)
    return graph.as_graph_def()


def test_steps_per_loop_and_for_every_unknown_loop():
    gd = _matmul_loops(nested=False)
    r = report(gd)
    assert r.flops.forward_per_sequence is None
    assert sorted(r.flops.unknown_loops) == ["first", "second"]
    r = report(gd, steps={"first": 3, "*": 5})
    trips = {lp.name: (lp.trip_count, lp.trip_count_source, lp.flops_per_step) for lp in r.loops}
    assert trips == {"first": (3, "user", 36), "second": (5, "user", 36)}
    assert r.flops.forward_per_sequence == (3 + 5) * 36 and r.flops.in_loops == 8 * 36
    assert report(gd, steps=7).flops.forward_per_sequence == 2 * 7 * 36
    for bad in (0, -2, {"first": 0}, {"no_such_loop": 3}, 2.5):
        with pytest.raises(StepsError):
            report(gd, steps=bad)


def test_nested_loops_multiply_and_know_their_parent(capsys):
    r = report(_matmul_loops(nested=True))
    outer = next(lp for lp in r.loops if lp.depth == 0)
    inner = next(lp for lp in r.loops if lp.depth == 1)
    assert (outer.name, outer.trip_count, outer.trip_count_source) == ("outer", 4, "constant bound")
    assert inner.parent == "outer" and inner.trip_count == 3
    assert inner.flops_per_step == 36 and outer.flops_per_step == 3 * 36  # nested already x3
    assert r.flops.forward_per_sequence == 4 * 3 * 36
    path_free = main(["report", "--steps", "0", "single_static_gru"])
    assert path_free == 2 and "positive whole number" in capsys.readouterr().err
