"""The cell-kind registry (rnnviz.cellkinds): complete, and each parameter formula equal to the
variables TensorFlow creates for that cell (or, for the raw ops, accepts when it runs them)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from rnnviz.cellkinds import CELL_KINDS, CallFeatures, gate_slices, recognise

CONTRACT_KINDS = {
    "basic_rnn",
    "basic_lstm",
    "lstm",
    "gru",
    "lstm_block",
    "gru_block",
    "block_lstm",
    "cudnn",
    "keras_simple_rnn",
    "keras_lstm",
    "keras_gru",
    "generic",
}
IN, UNITS, PROJ = 3, 5, 2


def test_every_kind_is_registered_with_labels_equations_and_gates():
    assert set(CELL_KINDS) == CONTRACT_KINDS
    assert list(CELL_KINDS)[-1] == "generic"  # tried last: it accepts any call
    for kind in CELL_KINDS.values():
        assert kind.label and kind.equations and kind.states
        assert "h" in kind.states
        keys = [g.key for g in kind.gates]
        assert len(keys) == len(set(keys))
        for gate in kind.gates:
            assert gate.label and gate.activation in ("sigmoid", "tanh")
        if "c" in kind.states:  # an LSTM: four gates, one of them the tanh candidate
            assert len(kind.gates) == 4
            assert [g.activation for g in kind.gates].count("tanh") == 1


def test_registry_never_imports_tensorflow():
    code = "import sys, rnnviz.cellkinds; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_gate_slices_cover_the_fused_kernel():
    for name in ("lstm", "basic_lstm", "keras_lstm", "keras_gru", "lstm_block", "block_lstm"):
        n = len(CELL_KINDS[name].gates)
        slices = gate_slices(name, 0, n * UNITS)
        assert [s[1] for s in slices] == [k * UNITS for k in range(n)]
        assert slices[-1][2] == n * UNITS
    # TF1's GRU: r, u in the gates kernel, the candidate in its own kernel.
    assert [s[0] for s in gate_slices("gru", 0, 2 * UNITS)] == ["r", "u"]
    assert [s[0] for s in gate_slices("gru", 1, UNITS)] == ["c"]


def test_recognise_falls_back_to_generic():
    assert recognise(CallFeatures()).name == "generic"
    assert recognise(CallFeatures(cell_op="BlockLSTMV2")).name == "block_lstm"


def _v1_cell_params(kind: str) -> int:
    """Sizes of the trainable variables a TF1 cell creates on a [1, IN] input."""
    from rnnviz.tfcompat import tf, v1

    cells = v1.nn.rnn_cell
    make = {
        "basic_rnn": lambda: cells.BasicRNNCell(UNITS),
        "basic_lstm": lambda: cells.BasicLSTMCell(UNITS),
        "lstm": lambda: cells.LSTMCell(
            UNITS, use_peepholes=True, num_proj=PROJ, cell_clip=1.0, proj_clip=1.0
        ),
        "gru": lambda: cells.GRUCell(UNITS),
    }[kind]
    graph = tf.Graph()
    with graph.as_default():
        cell = make()
        x = v1.placeholder(tf.float32, [1, IN])
        cell(x, cell.zero_state(1, tf.float32))
        return sum(int(np.prod(v.shape.as_list())) for v in v1.trainable_variables())


@pytest.mark.parametrize("kind", ["basic_rnn", "basic_lstm", "lstm", "gru"])
def test_params_formula_matches_tf1_cell_variables(kind):
    options = {"use_peepholes": True, "num_proj": PROJ} if kind == "lstm" else {}
    assert CELL_KINDS[kind].params(UNITS, IN, **options) == _v1_cell_params(kind)


@pytest.mark.parametrize(
    "kind,layer",
    [("keras_simple_rnn", "SimpleRNNCell"), ("keras_lstm", "LSTMCell"), ("keras_gru", "GRUCell")],
)
def test_params_formula_matches_tf_keras_cell_variables(kind, layer):
    import tf_keras

    cell = getattr(tf_keras.layers, layer)(UNITS)
    cell.build((None, IN))
    real = sum(int(np.prod(w.shape)) for w in cell.trainable_weights)
    assert CELL_KINDS[kind].params(UNITS, IN) == real


def _run_block_op(kind: str) -> int:
    """Runs the raw op once on weights of the shapes the formula counts; returns their size.
    The op checks every weight's shape, so a wrong formula's shapes would fail to run."""
    from rnnviz.tfcompat import tf

    rng = np.random.default_rng(0)
    w = lambda *s: tf.constant(rng.standard_normal(s).astype(np.float32))  # noqa: E731
    x, h = w(1, IN), w(1, UNITS)
    if kind == "gru_block":
        ws = dict(
            w_ru=w(IN + UNITS, 2 * UNITS), w_c=w(IN + UNITS, UNITS), b_ru=w(2 * UNITS), b_c=w(UNITS)
        )
        tf.raw_ops.GRUBlockCell(x=x, h_prev=h, **ws)
    else:
        ws = dict(
            w=w(IN + UNITS, 4 * UNITS), wci=w(UNITS), wcf=w(UNITS), wco=w(UNITS), b=w(4 * UNITS)
        )
        if kind == "lstm_block":
            tf.raw_ops.LSTMBlockCell(x=x, cs_prev=h, h_prev=h, use_peephole=True, **ws)
        else:
            steps = tf.constant(2, tf.int64)
            seq = w(2, 1, IN)
            tf.raw_ops.BlockLSTMV2(
                seq_len_max=steps, x=seq, cs_prev=h, h_prev=h, use_peephole=True, **ws
            )
    return sum(int(np.prod(v.shape)) for v in ws.values())


@pytest.mark.parametrize("kind", ["lstm_block", "gru_block", "block_lstm"])
def test_params_formula_matches_what_the_raw_op_accepts(kind):
    options = {"use_peepholes": True} if kind != "gru_block" else {}
    assert CELL_KINDS[kind].params(UNITS, IN, **options) == _run_block_op(kind)


def test_cudnn_formula_is_the_cudnn_layout():
    # cuDNN (no CPU kernel to ask): per gate one input matrix, one recurrent matrix, two biases.
    gates = {"lstm": 4, "gru": 3, "rnn_tanh": 1}
    for mode, g in gates.items():
        want = g * (UNITS * IN) + g * (UNITS * UNITS) + 2 * g * UNITS
        assert CELL_KINDS["cudnn"].params(UNITS, IN, rnn_mode=mode) == want
    two = CELL_KINDS["cudnn"].params(UNITS, IN, rnn_mode="lstm", num_layers=2)
    assert two == CELL_KINDS["cudnn"].params(UNITS, IN) + CELL_KINDS["cudnn"].params(UNITS, UNITS)


def test_generic_counts_the_weights_it_is_given():
    assert CELL_KINDS["generic"].params(UNITS, IN, shapes=[(IN + UNITS, UNITS), (UNITS,)]) == (
        (IN + UNITS) * UNITS + UNITS
    )


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


@pytest.mark.parametrize("op", ["BlockLSTM", "BlockLSTMV2"])
def test_block_lstm_gate_order_is_the_raw_ops(op):
    """Each gate's columns, as `gate_slices` gives them for the op, are the columns the raw op
    computes that gate from: its i, f, ci and o outputs equal NumPy on those columns."""
    from rnnviz.tfcompat import tf

    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 1, IN)).astype(np.float32)
    h = rng.standard_normal((1, UNITS)).astype(np.float32)
    w = rng.standard_normal((IN + UNITS, 4 * UNITS)).astype(np.float32)
    b = rng.standard_normal(4 * UNITS).astype(np.float32)
    zeros = tf.zeros([UNITS])
    args = dict(
        seq_len_max=tf.constant(1, tf.int64), x=x, cs_prev=h, h_prev=h, w=w, b=b,
        wci=zeros, wcf=zeros, wco=zeros, use_peephole=False, cell_clip=100.0,
    )  # fmt: skip
    if op == "BlockLSTM":
        args["forget_bias"] = 0.0  # V2 has none: the f columns alone make the forget gate
    i, _, f, o, ci, _, _ = (t.numpy()[0] for t in getattr(tf.raw_ops, op)(**args))
    pre = np.concatenate([x[0], h], axis=1) @ w + b
    outputs = {"i": i, "f": f, "o": o, "j": ci}
    slices = gate_slices("block_lstm", 0, 4 * UNITS, op)
    assert sorted(key for key, _, _ in slices) == sorted(outputs)
    for key, start, stop in slices:
        act = np.tanh if key == "j" else _sigmoid
        np.testing.assert_allclose(outputs[key], act(pre[:, start:stop]), rtol=1e-5, atol=1e-6)
