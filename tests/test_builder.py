"""The builder: every sample builds static and dynamic with the same parameters, and the graphs
behave as the source material says (state/output identity, variable lengths, fixed length rule,
control-flow structure, per-step tensors that can be fetched and hold the right values)."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.builder import build
from rnnviz.errors import SequenceLengthError
from rnnviz.spec import LayerSpec, ModelSpec, load_spec, sample_names
from rnnviz.tfcompat import tf, v1

SMALL_T = 4  # parameter counts do not depend on T; keep the unrolled graphs small


def closed_form_params(spec: ModelSpec) -> int:
    """Trainable parameters from the cell equations (independent of TF)."""
    total = 0
    width = spec.input_size
    n_dir = len(spec.directions)
    for layer in spec.layers:
        n, x = layer.units, width
        if layer.cell == "basic_rnn":
            per_dir = (x + n + 1) * n
        elif layer.cell == "gru":
            per_dir = 3 * (x + n + 1) * n  # 2 gates (r, u) + candidate, each with bias
        else:
            h = layer.num_proj or n  # the recurrent input is the projected output
            per_dir = 4 * (x + h + 1) * n
            if layer.use_peepholes:
                per_dir += 3 * n
            if layer.num_proj:
                per_dir += n * layer.num_proj
        total += per_dir * n_dir
        width = layer.output_size * n_dir
    return total + width * spec.num_classes + spec.num_classes


def graph_params(model) -> int:
    variables = model.graph.get_collection(v1.GraphKeys.TRAINABLE_VARIABLES)
    return int(sum(np.prod(v.shape.as_list()) for v in variables))


def profiler_params(model) -> int:
    opts = v1.profiler.ProfileOptionBuilder.trainable_variables_parameter()
    opts["output"] = "none"
    return int(v1.profiler.profile(model.graph, options=opts).total_parameters)


@pytest.mark.slow
@pytest.mark.parametrize("name", sample_names())
def test_params_match_closed_form_profiler_and_twin(name):
    spec = load_spec(name).with_steps(SMALL_T)
    static = build(spec if spec.is_static else spec.twin("static"))
    dynamic = build(spec if not spec.is_static else spec.twin("dynamic"))
    expected = closed_form_params(spec)
    assert graph_params(static) == graph_params(dynamic) == expected
    # tfprof once per sample, on the sample's own build (it takes seconds on big graphs); the
    # twin has the same variables by name and shape, checked above and below
    assert profiler_params(static if spec.is_static else dynamic) == expected
    static_names = {
        v.op.name for v in static.graph.get_collection(v1.GraphKeys.TRAINABLE_VARIABLES)
    }
    dynamic_names = {
        v.op.name for v in dynamic.graph.get_collection(v1.GraphKeys.TRAINABLE_VARIABLES)
    }
    assert static_names == dynamic_names  # so checkpoints restore across the two


def _run(model, fetches, x, lengths=None, init=True, sess=None):
    own = sess is None
    sess = sess or model.session()
    try:
        if init:
            sess.run(model.init_op)
        return sess.run(fetches, model.feed(x, lengths=lengths))
    finally:
        if own:
            sess.close()


@pytest.mark.parametrize("unroll", ["static", "dynamic"])
def test_stacked_lstm_last_state_h_is_last_output(unroll):
    """Seed 002: one LSTMStateTuple per layer, and state[-1].h == outputs[:, -1, :] exactly."""
    spec = ModelSpec(
        "s", (LayerSpec("basic_lstm", 6),) * 3, unroll=unroll, time_steps=5, input_size=4
    )
    model = build(spec)
    assert len(model.final_state) == 3
    assert all(isinstance(s, v1.nn.rnn_cell.LSTMStateTuple) for s in model.final_state)
    x = np.random.default_rng(0).standard_normal((3, 5, 4)).astype(np.float32)
    h_last, outputs = _run(model, [model.final_state[-1].h, model.outputs], x)
    np.testing.assert_array_equal(h_last, outputs[:, -1, :])


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("unroll", ["static", "dynamic"])
def test_variable_length_example_from_seed_001(cell, unroll):
    """X = randn(2,4,5), X[1,1:] = 0, lengths [4,1], float64: outputs past a length are zero and the
    final state is the state at the last valid step."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 5))
    x[1, 1:] = 0
    lengths = np.array([4, 1])
    spec = ModelSpec(
        "vl", (LayerSpec(cell, 3),), unroll=unroll, time_steps=4, input_size=5, variable_length=True
    )
    model = build(spec, dtype=tf.float64)
    state = model.final_state[0]
    h = state.h if cell == "lstm" else state
    outputs, h_final = _run(model, [model.outputs, h], x, lengths)
    assert outputs.dtype == np.float64
    assert np.all(outputs[1, 1:] == 0)
    assert np.any(outputs[1, 0] != 0)
    np.testing.assert_array_equal(h_final[0], outputs[0, 3])
    np.testing.assert_array_equal(h_final[1], outputs[1, 0])


def _cross_restore(spec_a: ModelSpec, spec_b: ModelSpec, x: np.ndarray, tmp_path):
    a, b = (
        build(spec_a, seed=1),
        build(spec_b, seed=2),
    )  # different seeds: different initial weights
    with a.session() as sess:
        sess.run(a.init_op)
        out_a = sess.run(a.outputs, a.feed(x))
        path = a.saver.save(sess, str(tmp_path / "ckpt"))
    with b.session() as sess:
        sess.run(b.init_op)
        out_b_fresh = sess.run(b.outputs, b.feed(x))
        b.saver.restore(sess, path)
        out_b = sess.run(b.outputs, b.feed(x))
    return out_a, out_b, out_b_fresh


@pytest.mark.slow
@pytest.mark.parametrize(
    "layers,bidirectional",
    [
        ((LayerSpec("lstm", 5), LayerSpec("gru", 7)), False),
        ((LayerSpec("lstm", 5),), True),
        ((LayerSpec("lstm", 5), LayerSpec("lstm", 4)), True),
    ],
    ids=["stacked-mix", "bi", "stacked-bi"],
)
def test_static_checkpoint_restores_into_dynamic(layers, bidirectional, tmp_path):
    static = ModelSpec(
        "x", layers, unroll="static", bidirectional=bidirectional, time_steps=6, input_size=3
    )
    x = np.random.default_rng(2).standard_normal((4, 6, 3)).astype(np.float32)
    out_static, out_dynamic, out_fresh = _cross_restore(static, static.twin("dynamic"), x, tmp_path)
    assert not np.allclose(out_static, out_fresh)  # the restore is what makes them equal
    np.testing.assert_allclose(out_static, out_dynamic, atol=1e-5)


@pytest.mark.slow
def test_static_graph_refuses_another_length_dynamic_accepts_it():
    spec = ModelSpec("f", (LayerSpec("gru", 4),), unroll="static", time_steps=5, input_size=3)
    static, dynamic = build(spec), build(spec.twin("dynamic"))
    x7 = np.zeros((2, 7, 3), np.float32)
    with pytest.raises(SequenceLengthError, match=r"built for 5 time steps.*fed 7.*fixed length"):
        static.feed(x7)
    with static.session() as sess, pytest.raises(ValueError):  # TF itself refuses it too
        sess.run(static.init_op)
        sess.run(static.outputs, {static.inputs: x7})
    assert _run(dynamic, dynamic.outputs, x7).shape == (2, 7, 4)


def test_time_major_layout():
    spec = ModelSpec(
        "tm", (LayerSpec("lstm", 4),), unroll="dynamic", time_major=True, time_steps=5, input_size=3
    )
    model = build(spec)
    x = np.zeros((5, 2, 3), np.float32)  # [time, batch, features]
    assert _run(model, model.outputs, x).shape == (5, 2, 4)
    assert model.inputs.shape.as_list() == [None, None, 3]


def _op_types(model) -> set[str]:
    return {n.op for n in model.graph_def().node}


def test_control_flow_v1_puts_frames_inline_v2_a_while_op():
    spec = ModelSpec("cf", (LayerSpec("lstm", 4),), unroll="dynamic", time_steps=5, input_size=3)
    v1_model = build(spec.replace(control_flow="v1"))
    assert {"Enter", "Exit", "NextIteration", "Merge", "Switch", "LoopCond"} <= _op_types(v1_model)
    v2_model = build(spec.replace(control_flow="v2"))
    v2_gd = v2_model.graph_def()
    whiles = [n for n in v2_gd.node if n.op in ("While", "StatelessWhile")]
    assert whiles and not ({"Enter", "Exit", "NextIteration"} & _op_types(v2_model))
    library = {f.signature.name for f in v2_gd.library.function}
    for node in whiles:
        assert node.attr["body"].func.name in library
        assert node.attr["cond"].func.name in library
    # and the process-wide flag is back where it was
    from tensorflow.python.ops import control_flow_util

    assert control_flow_util.ENABLE_CONTROL_FLOW_V2 is True


def test_builds_do_not_touch_the_default_graph():
    before = len(v1.get_default_graph().get_operations())
    build(ModelSpec("g", (LayerSpec("gru", 3),), time_steps=3, input_size=2))
    assert len(v1.get_default_graph().get_operations()) == before


@pytest.mark.parametrize(
    "spec",
    [
        ModelSpec(
            "r",
            (LayerSpec("lstm", 5), LayerSpec("gru", 6), LayerSpec("basic_rnn", 3)),
            time_steps=4,
            input_size=3,
        ),
        ModelSpec(
            "b",
            (LayerSpec("basic_lstm", 5), LayerSpec("lstm", 4)),
            bidirectional=True,
            time_steps=4,
            input_size=3,
        ),
    ],
    ids=["mixed-stack", "stacked-bi"],
)
def test_step_tensors_cover_every_step_layer_and_direction(spec):
    model = build(spec)
    kinds_by_cell = {
        "lstm": {"h", "c", "i", "j", "f", "o"},
        "basic_lstm": {"h", "c", "i", "j", "f", "o"},
        "gru": {"h", "r", "u"},
        "basic_rnn": {"h"},
    }
    recorded = {(s.layer, s.direction, s.step, s.kind) for s in model.step_tensors}
    expected = {
        (i, d, t, k)
        for i, layer in enumerate(spec.layers)
        for d in spec.directions
        for t in range(spec.time_steps)
        for k in kinds_by_cell[layer.cell]
    }
    assert recorded == expected
    x = (
        np.random.default_rng(3)
        .standard_normal((2, spec.time_steps, spec.input_size))
        .astype(np.float32)
    )
    names = [s.name for s in model.step_tensors]
    values = _run(model, names, x)
    for st, value in zip(model.step_tensors, values, strict=True):
        assert value.shape[0] == 2 and list(value.shape[1:]) == list(st.shape[1:])
        if st.kind in ("i", "f", "o", "r", "u"):
            assert np.all((value > 0) & (value < 1)), st
    if not spec.bidirectional:  # top layer's recorded h is the graph's output at each step
        top = len(spec.layers) - 1
        outputs = _run(model, model.outputs, x)
        by_key = {
            (s.layer, s.direction, s.step, s.kind): v
            for s, v in zip(model.step_tensors, values, strict=True)
        }
        for t in range(spec.time_steps):
            np.testing.assert_allclose(by_key[(top, "fw", t, "h")], outputs[:, t], atol=1e-6)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_recorded_lstm_gates_match_the_cell_equations():
    """Recompute step 0 and 1 of an LSTMCell (forget_bias 1.0) in NumPy from its own weights."""
    spec = ModelSpec("eq", (LayerSpec("lstm", 4),), time_steps=2, input_size=3)
    model = build(spec)
    x = np.random.default_rng(4).standard_normal((2, 2, 3)).astype(np.float32)
    kernel_var, bias_var = [
        v
        for v in model.graph.get_collection(v1.GraphKeys.TRAINABLE_VARIABLES)
        if v.op.name.startswith("rnn/")
    ]
    by_key = {(s.step, s.kind): s.name for s in model.step_tensors}
    with model.session() as sess:
        sess.run(model.init_op)
        kernel, bias = sess.run([kernel_var, bias_var])
        got = sess.run(by_key, model.feed(x))
    h = c = np.zeros((2, 4), np.float32)
    for t in range(2):
        z = np.concatenate([x[:, t], h], 1) @ kernel + bias
        i, j, f, o = np.split(z, 4, axis=1)
        gates = {"i": _sigmoid(i), "j": np.tanh(j), "f": _sigmoid(f + 1.0), "o": _sigmoid(o)}
        c = gates["f"] * c + gates["i"] * gates["j"]
        h = np.tanh(c) * gates["o"]
        for kind, value in {**gates, "c": c, "h": h}.items():
            np.testing.assert_allclose(got[(t, kind)], value, atol=1e-5, err_msg=f"step {t} {kind}")


def test_recorded_gru_gates_match_the_cell_equations():
    spec = ModelSpec("eqg", (LayerSpec("gru", 4),), time_steps=2, input_size=3)
    model = build(spec)
    x = np.random.default_rng(5).standard_normal((2, 2, 3)).astype(np.float32)
    variables = {
        v.op.name.split("/", 2)[-1]: v
        for v in model.graph.get_collection(v1.GraphKeys.TRAINABLE_VARIABLES)
        if v.op.name.startswith("rnn/")
    }
    by_key = {(s.step, s.kind): s.name for s in model.step_tensors}
    with model.session() as sess:
        sess.run(model.init_op)
        w = sess.run(variables)
        got = sess.run(by_key, model.feed(x))
    h = np.zeros((2, 4), np.float32)
    for t in range(2):
        ru = _sigmoid(np.concatenate([x[:, t], h], 1) @ w["gates/kernel"] + w["gates/bias"])
        r, u = np.split(ru, 2, axis=1)
        cand = np.tanh(
            np.concatenate([x[:, t], r * h], 1) @ w["candidate/kernel"] + w["candidate/bias"]
        )
        h = u * h + (1 - u) * cand
        for kind, value in {"r": r, "u": u, "h": h}.items():
            np.testing.assert_allclose(got[(t, kind)], value, atol=1e-5, err_msg=f"step {t} {kind}")


def test_dropout_only_when_training():
    spec = ModelSpec(
        "d",
        (LayerSpec("lstm", 16, output_keep_prob=0.5),),
        unroll="dynamic",
        time_steps=3,
        input_size=2,
    )
    model = build(spec)
    x = np.ones((4, 3, 2), np.float32)
    with model.session() as sess:
        sess.run(model.init_op)
        eval_a = sess.run(model.outputs, model.feed(x))
        eval_b = sess.run(model.outputs, model.feed(x))
        train = sess.run(model.outputs, model.feed(x, training=True))
    np.testing.assert_array_equal(eval_a, eval_b)
    assert np.mean(train == 0) > 0.2  # about half the units dropped


def test_train_op_lowers_the_loss():
    spec = ModelSpec(
        "tr",
        (LayerSpec("gru", 8),),
        unroll="dynamic",
        time_steps=4,
        input_size=2,
        num_classes=2,
        learning_rate=0.05,
    )
    model = build(spec)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((32, 4, 2)).astype(np.float32)
    y = (x[:, :, 0].sum(1) > 0).astype(np.int64)
    with model.session() as sess:
        sess.run(model.init_op)
        first = sess.run(model.loss, model.feed(x, y))
        for _ in range(30):
            sess.run(model.train_op, model.feed(x, y, training=True))
        last = sess.run(model.loss, model.feed(x, y))
    assert last < 0.7 * first


def test_same_seed_same_weights_other_seed_other_weights():
    spec = ModelSpec("seed", (LayerSpec("gru", 4),), time_steps=2, input_size=3)

    def weights(seed: int) -> list[np.ndarray]:
        model = build(spec, seed=seed)
        with model.session() as sess:
            sess.run(model.init_op)
            return sess.run(model.graph.get_collection(v1.GraphKeys.TRAINABLE_VARIABLES))

    first, again, other = weights(0), weights(0), weights(1)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


def test_static_variable_length_records_nothing_unfetchable():
    """static_rnn with sequence_length runs each step's cell in a cond, whose ops TF will not fetch."""
    spec = ModelSpec(
        "vls",
        (LayerSpec("gru", 3),),
        time_steps=3,
        input_size=2,
        variable_length=True,
        control_flow="v1",
    )
    model = build(spec)
    assert model.step_tensors == ()
    inside_cond = [
        op
        for op in model.graph.get_operations()
        if op.name.startswith("rnn/cond") and op.type == "Sigmoid"
    ]
    assert inside_cond and not model.graph.is_fetchable(inside_cond[0])
