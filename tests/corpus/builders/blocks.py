"""The raw cell ops: LSTMBlockCell / GRUBlockCell unrolled by hand, fused BlockLSTM(V2), CudnnRNN.

These are what `tf.contrib.rnn.LSTMBlockCell`, `GRUBlockCellV2` and `LSTMBlockFusedCell` left in
graphs made with TF 1.x; TF 2.21 keeps the ops (`tf.raw_ops`) but not the cell classes. CudnnRNN
has no CPU kernel: its graph builds but cannot run here (see `freeze_session(runnable=False)`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from corpus.builders.common import Built, count, freeze_session
from corpus.truth import CellSize, Truth
from rnnviz.tfcompat import tf, v1


def build(stem: Path, truth: Truth, op: str) -> Built:
    (c,) = truth.cells
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, c.steps, c.inputs], name="x")
        weights = _weights(c, op)
        out = tf.identity(_STEP[op](x, c, weights), name="output")
        trainable = count(v1.trainable_variables())
    frozen = freeze_session(graph, [out], runnable=not op.startswith("Cudnn"))
    return Built(graph.as_graph_def(), frozen, trainable)


def _weights(c: CellSize, op: str) -> dict[str, Any]:
    i, u = c.inputs, c.units
    with v1.variable_scope("rnn/cell"):
        if op.startswith("Cudnn"):
            return {"params": v1.get_variable("opaque_params", [c.params()])}
        if op == "GRUBlockCell":
            shapes = {"w_ru": [i + u, 2 * u], "w_c": [i + u, u], "b_ru": [2 * u], "b_c": [u]}
        else:
            shapes = {"w": [i + u, 4 * u], "b": [4 * u], "wci": [u], "wcf": [u], "wco": [u]}
        return {k: v1.get_variable(k, s) for k, s in shapes.items()}


def _zeros(x: Any, c: CellSize) -> Any:
    return tf.zeros(tf.stack([tf.shape(x)[0], c.units]))


def _lstm_block_cell(x: Any, c: CellSize, w: dict[str, Any]) -> Any:
    cs = h = _zeros(x, c)
    for t in range(c.steps):
        step = tf.raw_ops.LSTMBlockCell(x=x[:, t], cs_prev=cs, h_prev=h, use_peephole=True, **w)
        cs, h = step.cs, step.h
    return h


def _gru_block_cell(x: Any, c: CellSize, w: dict[str, Any]) -> Any:
    h = _zeros(x, c)
    for t in range(c.steps):
        h = tf.raw_ops.GRUBlockCell(x=x[:, t], h_prev=h, **w).h
    return h


def _block_lstm(op: str) -> Any:
    def fused(x: Any, c: CellSize, w: dict[str, Any]) -> Any:
        time_major = tf.transpose(x, [1, 0, 2])
        zero = _zeros(x, c)
        run = getattr(tf.raw_ops, op)
        lengths = tf.constant(c.steps, tf.int64)
        return run(
            seq_len_max=lengths, x=time_major, cs_prev=zero, h_prev=zero, use_peephole=True, **w
        ).h

    return fused


def _cudnn(op: str) -> Any:
    def fused(x: Any, c: CellSize, w: dict[str, Any]) -> Any:
        time_major = tf.transpose(x, [1, 0, 2])
        zero = _zeros(x, c)[None]
        extra = {}
        if op == "CudnnRNNV3":
            extra["sequence_lengths"] = tf.fill(tf.shape(x)[:1], c.steps)
        run = getattr(tf.raw_ops, op)
        return run(
            input=time_major, input_h=zero, input_c=zero, rnn_mode="lstm", **w, **extra
        ).output

    return fused


_STEP = {
    "LSTMBlockCell": _lstm_block_cell,
    "GRUBlockCell": _gru_block_cell,
    "BlockLSTM": _block_lstm("BlockLSTM"),
    "BlockLSTMV2": _block_lstm("BlockLSTMV2"),
    "CudnnRNN": _cudnn("CudnnRNN"),
    "CudnnRNNV3": _cudnn("CudnnRNNV3"),
}
