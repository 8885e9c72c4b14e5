"""Hand-written graphs: nested while loops, an encoder-decoder with attention, a sparse-updated
embedding feeding an RNN, and two non-recurrent controls (an MLP and a CNN)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from corpus.builders.common import Built, v1_graph_built
from corpus.builders.v1cells import cell_of
from corpus.truth import Truth
from rnnviz.tfcompat import control_flow as use_control_flow
from rnnviz.tfcompat import tf, v1


def nested(stem: Path, truth: Truth, control_flow: str, inner: int) -> Built:
    """An outer loop over time whose body runs an inner loop of `inner` shared-weight refinements."""
    (c,) = truth.cells
    graph = tf.Graph()
    with graph.as_default(), use_control_flow(control_flow):
        x = v1.placeholder(tf.float32, [None, c.steps, c.inputs], name="x")
        with v1.variable_scope("deep_transition"):
            w = v1.get_variable("w", [c.inputs + c.units, c.units])
            b = v1.get_variable("b", [c.units], initializer=v1.zeros_initializer())
        xs = tf.transpose(x, [1, 0, 2])

        def outer_body(t: Any, h: Any) -> list[Any]:
            xt = tf.gather(xs, t)

            def inner_body(k: Any, h: Any) -> list[Any]:
                # h + tanh(...): a residual step no known cell kind computes (a generic cell)
                return [k + 1, h + tf.tanh(tf.matmul(tf.concat([xt, h], 1), w) + b)]

            _, h = v1.while_loop(
                lambda k, h: k < inner, inner_body, [tf.constant(0), h], name="inner"
            )
            return [t + 1, h]

        h0 = tf.zeros(tf.stack([tf.shape(x)[0], c.units]))
        _, h = v1.while_loop(
            lambda t, h: t < c.steps, outer_body, [tf.constant(0), h0], name="outer"
        )
        out = tf.identity(h, name="output")
    return v1_graph_built(graph, [out])


def encoder_decoder(stem: Path, truth: Truth, control_flow: str) -> Built:
    """Two dynamic_rnn loops (GRU encoder, LSTM decoder) and Luong attention unrolled by hand."""
    enc, dec = truth.cells
    graph = tf.Graph()
    with graph.as_default(), use_control_flow(control_flow):
        x = v1.placeholder(tf.float32, [None, enc.steps, enc.inputs], name="source")
        y = v1.placeholder(tf.float32, [None, dec.steps, dec.inputs], name="target")
        memory, state = v1.nn.dynamic_rnn(cell_of(enc), x, dtype=tf.float32, scope="encoder")
        start = v1.nn.rnn_cell.LSTMStateTuple(state, state)
        queries, _ = v1.nn.dynamic_rnn(cell_of(dec), y, initial_state=start, scope="decoder")
        with v1.variable_scope("attention"):
            combine = v1.get_variable("combine", [2 * dec.units, dec.units])
        outs = []
        for t in range(dec.steps):
            q = queries[:, t : t + 1, :]  # [batch, 1, units]
            weights = tf.nn.softmax(tf.matmul(q, memory, transpose_b=True))  # [batch, 1, T]
            context = tf.matmul(weights, memory)  # [batch, 1, units]
            joined = tf.concat([context[:, 0], q[:, 0]], 1)
            outs.append(tf.tanh(tf.matmul(joined, combine)))
        out = tf.identity(tf.stack(outs, 1), name="output")
    return v1_graph_built(graph, [out])


def embedding(stem: Path, truth: Truth, optimizer: str, vocab: int, classes: int) -> Built:
    """ids -> embedding_lookup -> RNN -> logits, trained: the table gets a sparse update only."""
    (c,) = truth.cells
    graph = tf.Graph()
    resource = optimizer == "adagrad"
    with graph.as_default(), v1.variable_scope("model", use_resource=resource):
        ids = v1.placeholder(tf.int32, [None, c.steps], name="ids")
        labels = v1.placeholder(tf.int32, [None], name="labels")
        table = v1.get_variable("embedding", [vocab, c.inputs])
        vectors = tf.nn.embedding_lookup(table, ids)
        if c.form == "loop":
            outputs, _ = v1.nn.dynamic_rnn(cell_of(c), vectors, dtype=tf.float32)
            last = outputs[:, -1]
        else:
            steps = tf.unstack(vectors, axis=1)
            last = v1.nn.static_rnn(cell_of(c), steps, dtype=tf.float32)[0][-1]
        w = v1.get_variable("head/w", [c.units, classes])
        b = v1.get_variable("head/b", [classes], initializer=v1.zeros_initializer())
        logits = tf.identity(tf.matmul(last, w) + b, name="logits")
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        )
        opt = v1.train.AdagradOptimizer(0.1) if resource else v1.train.GradientDescentOptimizer(0.1)
        opt.minimize(loss, name="train")
    return v1_graph_built(graph, [logits])


def mlp(stem: Path, truth: Truth, inputs: int, hidden: int, classes: int) -> Built:
    graph = tf.Graph()
    with graph.as_default():
        h = v1.placeholder(tf.float32, [None, inputs], name="x")
        for i, (n, m) in enumerate(((inputs, hidden), (hidden, classes))):
            w = v1.get_variable(f"dense{i}/w", [n, m])
            b = v1.get_variable(f"dense{i}/b", [m], initializer=v1.zeros_initializer())
            h = tf.nn.relu(tf.matmul(h, w) + b)
        out = tf.identity(h, name="output")
    return v1_graph_built(graph, [out])


def cnn(stem: Path, truth: Truth, side: int, kernel: int, channels: int, classes: int) -> Built:
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, side, side, 1], name="image")
        k = v1.get_variable("conv/kernel", [kernel, kernel, 1, channels])
        kb = v1.get_variable("conv/bias", [channels], initializer=v1.zeros_initializer())
        y = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, k, 1, "VALID"), kb))
        flat = tf.reshape(y, [-1, (side - kernel + 1) ** 2 * channels])
        w = v1.get_variable("dense/w", [flat.shape[1], classes])
        b = v1.get_variable("dense/b", [classes], initializer=v1.zeros_initializer())
        out = tf.identity(tf.matmul(flat, w) + b, name="output")
    return v1_graph_built(graph, [out])
