"""The corpus: one entry per foreign graph, name -> builder + truth (importable without TensorFlow).

Sizes are small and deliberately different from each other (inputs 3, units 5 and 6, projection 2,
4 steps, decoder 3 steps, inner loop 3 trips) so that a report mixing them up cannot pass by chance.
The builders read their sizes from the entry's truth, so a graph and its truth cannot drift apart.

Traps the truth makes on purpose, because real graphs have them:
- tf-keras' loop (`unroll=False`) calls the cell once outside the loop on step 0 only to learn its
  output shape; those ops feed nothing, TF never runs them, and the truth does not count them
  (the frozen twin, pruned to its outputs, does not even hold them);
- a tf.function graph_def holds its variables as `resource` placeholders without shapes: their
  sizes follow only from how the graph uses them (the truth still counts them);
- the hand-unrolled attention reuses one weight at every decoder step but carries no state from
  one step to the next: not a recurrent cell;
- a SavedModel's function library keeps several traces of each Keras layer: only the loops
  reachable from the serving signature count;
- ConvLSTM2D convolves a constant zeros kernel to make its initial state: a Const at a weight
  input that is no parameter;
- static_state_saving_rnn keeps the states in non-trainable variables: no parameters either;
- the user-written cells compute h + tanh([x, h] W + b), which no known kind computes: "generic".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from corpus.truth import CellSize, LoopTruth, Truth, dense

# inputs, units, 2nd-layer units, projection, steps, decoder steps, inner-loop trips
IN, U, U2, P, T, TD, K = 3, 5, 6, 2, 4, 3, 3
VOCAB, EMB, CLASSES = 11, 4, 3


@dataclass(frozen=True)
class Entry:
    """One corpus graph: `builder` is "module.function" under `corpus.builders`."""

    name: str
    builder: str
    truth: Truth
    options: Mapping[str, Any] = field(default_factory=dict)
    steps: int | None = None  # given to report(): a loop whose trip count the graph leaves open
    live_kind: str = "pb"  # pb | saved_model


def _cell(kind: str, form: str = "unrolled", **kw: Any) -> CellSize:
    kw.setdefault("inputs", IN)
    kw.setdefault("units", U)
    kw.setdefault("steps", T)
    return CellSize(kind, form=form, **kw)


def _stack(*kinds: str, form: str = "unrolled", units: tuple[int, ...] = (U, U2)) -> tuple:
    """Cells of a stack, layer l feeding layer l+1."""
    cells, inputs = [], IN
    for layer, kind in enumerate(kinds):
        cells.append(_cell(kind, form, layer=layer, inputs=inputs, units=units[layer]))
        inputs = units[layer]
    return tuple(cells)


def _bidir(kind: str, form: str = "unrolled", **kw: Any) -> tuple:
    return tuple(_cell(kind, form, direction=d, **kw) for d in ("fw", "bw"))


def _loops(n: int, trip: int | None = T) -> tuple[LoopTruth, ...]:
    return tuple(LoopTruth(trip_count=trip) for _ in range(n))


def _v1(name: str, truth: Truth, api: str, steps: int | None = None, **options: Any) -> Entry:
    return Entry(name, "v1cells.build", truth, {"api": api, **options}, steps=steps)


def _v1_entries() -> list[Entry]:
    pp = {"peepholes": True, "proj": P}
    loop = "loop"
    return [
        _v1("v1_static_basic_rnn", Truth((_cell("basic_rnn"),)), "static"),
        _v1("v1_static_basic_lstm", Truth((_cell("basic_lstm"),)), "static"),
        _v1("v1_static_lstm_peephole_projection", Truth((_cell("lstm", **pp),)), "static"),
        _v1("v1_static_gru", Truth((_cell("gru"),)), "static"),
        _v1("v1_static_multi_gru_basic_lstm", Truth(_stack("gru", "basic_lstm")), "static"),
        _v1("v1_static_bidir_lstm", Truth(_bidir("lstm")), "static"),
        _v1("v1_static_state_saving_basic_lstm", Truth((_cell("basic_lstm"),)), "state_saving"),
        _v1(
            "v1_static_dropout_residual_wrappers",
            Truth(_stack("gru", "gru", units=(U, U))),  # residual: output width = input width
            "static",
            wrappers=("dropout", "residual"),
        ),
        *(
            _v1(
                f"v1_static_sequence_length_cf{cf}",
                Truth((_cell("basic_lstm"),)),
                "static",
                sequence_length=True,
                control_flow=cf,
            )
            for cf in ("v1", "v2")
        ),
        _v1(
            "v1_dynamic_lstm_peephole_projection_cfv1",
            Truth((_cell("lstm", loop, **pp),), _loops(1)),
            "dynamic",
            control_flow="v1",
        ),
        _v1("v1_dynamic_gru_cfv2", Truth((_cell("gru", loop),), _loops(1)), "dynamic"),
        _v1(
            "v1_dynamic_multi_basic_rnn_basic_lstm_cfv1",
            Truth(_stack("basic_rnn", "basic_lstm", form=loop), _loops(1)),
            "dynamic",
            control_flow="v1",
        ),
        _v1(
            "v1_dynamic_multi_lstm_gru_cfv2",
            Truth(_stack("lstm", "gru", form=loop), _loops(1)),
            "dynamic",
        ),
        *(
            _v1(
                f"v1_bidir_dynamic_{kind}_cf{cf}",
                Truth(_bidir(kind, loop), _loops(2)),
                "dynamic_bidir",
                control_flow=cf,
            )
            for kind, cf in (("basic_lstm", "v1"), ("gru", "v2"))
        ),
        *(
            _v1(
                f"v1_raw_rnn_{kind}_cf{cf}",
                Truth((_cell(kind, loop),), _loops(1, trip=None)),
                "raw",
                steps=T,  # raw_rnn stops when every sequence is finished: no bound in the graph
                control_flow=cf,
            )
            for kind, cf in (("lstm", "v1"), ("basic_lstm", "v2"))
        ),
    ]


def _block_entries() -> list[Entry]:
    return [
        Entry(
            "raw_lstm_block_cell_unrolled",
            "blocks.build",
            Truth((_cell("lstm_block"),)),
            {"op": "LSTMBlockCell"},
        ),
        Entry(
            "raw_gru_block_cell_unrolled",
            "blocks.build",
            Truth((_cell("gru_block"),)),
            {"op": "GRUBlockCell"},
        ),
        Entry(
            "raw_block_lstm_fused",
            "blocks.build",
            Truth((_cell("block_lstm", "fused"),)),
            {"op": "BlockLSTM"},
        ),
        Entry(
            "raw_block_lstm_v2_fused",
            "blocks.build",
            Truth((_cell("block_lstm", "fused"),)),
            {"op": "BlockLSTMV2"},
        ),
        Entry(
            "raw_cudnn_rnn_lstm",
            "blocks.build",
            Truth((_cell("cudnn", "fused"),)),
            {"op": "CudnnRNN"},
        ),
        Entry(
            "raw_cudnn_rnn_v3_lstm",
            "blocks.build",
            Truth((_cell("cudnn", "fused"),)),
            {"op": "CudnnRNNV3"},
        ),
    ]


def _keras_entries() -> list[Entry]:
    e = []
    for container in ("v1graph", "function", "savedmodel"):
        for layer in ("simple_rnn", "lstm", "gru"):
            for unroll in (True, False):
                form = "unrolled" if unroll else "loop"
                e.append(
                    Entry(
                        f"keras_{layer}_{'unrolled' if unroll else 'loop'}_{container}",
                        "keras.build",
                        Truth((_cell("keras_" + layer, form),), () if unroll else _loops(1)),
                        {"container": container},
                        live_kind="saved_model" if container == "savedmodel" else "pb",
                    )
                )
    e += [
        Entry(
            "keras_bidirectional_lstm_savedmodel",
            "keras.build",
            Truth(_bidir("keras_lstm", "loop"), _loops(2)),
            {"container": "savedmodel"},
            live_kind="saved_model",
        ),
        Entry(
            "keras_rnn_stacked_cells_lstm_gru_v1graph",
            "keras.build",
            Truth(_stack("keras_lstm", "keras_gru", form="loop"), _loops(1)),
            {"container": "v1graph", "cells_in_one_layer": True},
        ),
        Entry(
            "keras_v1_cudnn_lstm_v1graph",
            "keras.build",
            Truth((_cell("cudnn", "fused"),)),
            {"container": "v1graph"},
        ),
        Entry(
            "keras_v1_cudnn_gru_v1graph",
            "keras.build",
            Truth((_cell("cudnn_gru", "fused"),)),
            {"container": "v1graph"},
        ),
        Entry(
            "keras_custom_cell_unrolled_v1graph",
            "keras.build",
            Truth((_cell("generic"),)),
            {"container": "v1graph"},
        ),
        Entry(
            "keras_custom_cell_loop_savedmodel",
            "keras.build",
            Truth((_cell("generic", "loop"),), _loops(1)),
            {"container": "savedmodel", "saver": "tf.saved_model.save"},
            live_kind="saved_model",
        ),
        Entry(
            "keras_conv_lstm2d_loop_function",
            "keras.build",
            Truth(
                (_cell("conv_lstm", "loop", inputs=1, units=2, kernel=3, side=6),),
                _loops(1),
                live_unsized=True,
            ),
            {"container": "function"},
        ),
        Entry(
            "keras_stacked_lstm_gru_tf_saved_model",
            "keras.build",
            Truth(_stack("keras_lstm", "keras_gru", form="loop"), _loops(2)),
            {"container": "savedmodel", "saver": "tf.saved_model.save"},
            live_kind="saved_model",
        ),
    ]
    return e


def _nested(cf: str) -> Entry:
    outer = LoopTruth(trip_count=T)
    inner = LoopTruth(depth=1, parent=0, trip_count=K)
    truth = Truth((_cell("generic", "loop"),), (outer, inner), inner_steps=K)
    return Entry(f"nested_while_cf{cf}", "loops.nested", truth, {"control_flow": cf, "inner": K})


def _encoder_decoder(cf: str) -> Entry:
    enc = _cell("gru", "loop")
    dec = _cell("basic_lstm", "loop", layer=1, steps=TD)
    combine_params, combine_flops = dense(2 * U, U, bias=False)
    scores_and_context = 2 * (2 * U * T)  # [1,U]x[U,T] and [1,T]x[T,U] per decoder step
    truth = Truth(
        (enc, dec),
        (LoopTruth(trip_count=T), LoopTruth(trip_count=TD)),
        extra_params=combine_params,
        extra_matmul_flops=TD * (scores_and_context + combine_flops),
    )
    return Entry(
        f"encoder_decoder_attention_cf{cf}", "loops.encoder_decoder", truth, {"control_flow": cf}
    )


def _embedding(optimizer: str) -> Entry:
    head_params, head_flops = dense(U, CLASSES)
    if optimizer == "adagrad":  # resource variables: ResourceSparseApplyAdagradV2, dynamic GRU (v2)
        cells, loops = (_cell("gru", "loop", inputs=EMB),), _loops(1)
    else:  # ref variables: ScatterSub, static BasicLSTM
        cells, loops = (_cell("basic_lstm", inputs=EMB),), ()
    truth = Truth(
        cells,
        loops,
        extra_params=VOCAB * EMB + head_params,
        extra_matmul_flops=head_flops,
        trained=True,
    )
    return Entry(
        f"embedding_sparse_{optimizer}",
        "loops.embedding",
        truth,
        {"optimizer": optimizer, "vocab": VOCAB, "classes": CLASSES},
    )


def _controls() -> list[Entry]:
    hidden = 8
    (p1, f1), (p2, f2) = dense(IN * T, hidden), dense(hidden, CLASSES)
    mlp = Entry(
        "control_mlp",
        "loops.mlp",
        Truth(extra_params=p1 + p2, extra_matmul_flops=f1 + f2),
        {"inputs": IN * T, "hidden": hidden, "classes": CLASSES},
    )
    side, kernel, channels = 8, 3, 4
    flat = (side - kernel + 1) ** 2 * channels
    conv_params = kernel * kernel * channels + channels
    (p3, f3) = dense(flat, CLASSES)
    cnn = Entry(
        "control_cnn",
        "loops.cnn",
        Truth(extra_params=conv_params + p3, extra_matmul_flops=f3),
        {"side": side, "kernel": kernel, "channels": channels, "classes": CLASSES},
    )
    return [mlp, cnn]


ENTRIES: dict[str, Entry] = {
    e.name: e
    for e in [
        *_v1_entries(),
        *_block_entries(),
        *_keras_entries(),
        _nested("v1"),
        _nested("v2"),
        _encoder_decoder("v1"),
        _encoder_decoder("v2"),
        _embedding("adagrad"),
        _embedding("sgd"),
        *_controls(),
    ]
}
