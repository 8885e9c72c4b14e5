"""Properties over random small valid specs (hypothesis): what static and dynamic builds of one
spec must share, and how their sizes scale with T."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnviz.builder import build
from rnnviz.reporting import report
from rnnviz.spec import LayerSpec, ModelSpec

pytestmark = pytest.mark.slow  # each example builds several graphs

layers = st.builds(
    LayerSpec,
    cell=st.sampled_from(["basic_rnn", "basic_lstm", "lstm", "gru"]),
    units=st.integers(4, 16),
)


@st.composite
def specs(draw, max_layers: int = 2) -> ModelSpec:
    return ModelSpec(
        name="prop_static",
        layers=tuple(draw(st.lists(layers, min_size=1, max_size=max_layers))),
        unroll="static",
        bidirectional=draw(st.booleans()),
        time_steps=draw(st.integers(3, 6)),
        input_size=draw(st.integers(2, 5)),
        num_classes=3,
        time_major=draw(st.booleans()),
        control_flow=draw(st.sampled_from(["v1", "v2"])),
    )


@settings(max_examples=5, deadline=None)
@given(spec=specs())
def test_static_and_dynamic_builds_of_one_spec(spec):
    t = spec.time_steps
    static = [report(build(spec.with_steps(n)), tfprof=False) for n in (t, t + 1, t + 2)]
    dyn_spec = spec.twin("dynamic")
    dynamic = [report(build(dyn_spec.with_steps(n)), tfprof=False) for n in (t, t + 1)]
    # Same variables, so the same parameters.
    assert static[0].params.total == dynamic[0].params.total
    assert static[0].params.recurrent == dynamic[0].params.recurrent
    # Static node count grows linearly with T; the loop graph does not grow at all.
    nodes = [r.ops.total for r in static]
    assert nodes[1] - nodes[0] == nodes[2] - nodes[1] > 0
    assert dynamic[0].ops.total == dynamic[1].ops.total
    assert [r.unrolled_steps for r in static] == [t, t + 1, t + 2]
    # FLOPs: the loop body counted once per step equals the unrolled copies, exactly (fixed
    # length: the same ops run at every step in both forms).
    for s, d in zip(static, dynamic, strict=False):
        assert s.flops.forward_per_sequence > 0
        assert d.flops.forward_per_sequence == s.flops.forward_per_sequence
    # Static holds every step's state, dynamic none.
    assert static[0].states.per_step >= t * len(spec.layers) * len(spec.directions)
    assert dynamic[0].states.per_step == 0


@settings(max_examples=6, deadline=None)
@given(spec=specs(max_layers=1), unroll=st.sampled_from(["static", "dynamic"]))
def test_bidirectional_has_twice_the_recurrent_params(spec, unroll):
    # One layer: a stacked bi layer >= 1 reads fw+bw outputs, so only layer 0 doubles exactly.
    uni = spec.replace(bidirectional=False, unroll=unroll)
    bi = spec.replace(bidirectional=True, unroll=unroll)
    r_uni, r_bi = report(build(uni), tfprof=False), report(build(bi), tfprof=False)
    assert r_bi.params.recurrent == 2 * r_uni.params.recurrent > 0
    assert {lp.direction for lp in r_bi.params.by_layer} == {"fw", "bw"}


@st.composite
def long_static_specs(draw) -> ModelSpec:
    """Long enough (>= 16 steps) that the report matches later calls to a window of early ones."""
    return draw(specs(max_layers=2)).replace(time_steps=draw(st.integers(16, 18)))


@settings(max_examples=3, deadline=None)
@given(spec=long_static_specs())
def test_inferred_steps_equal_the_builder_record_on_long_graphs(spec):
    from rnnviz.reporting.timesteps import op_steps

    model = build(spec)
    inferred = op_steps(model.graph_def())
    for t in model.step_tensors:
        assert inferred[t.name.split(":")[0]] == (t.layer, t.direction, t.step), t.name
    r = report(model.graph_def(), tfprof=False)
    assert r.unrolled_steps == spec.time_steps
    want = sorted((k, d) for k in range(len(spec.layers)) for d in spec.directions)
    assert sorted((c.layer, c.direction) for c in r.timesteps.cells) == want
    assert [c.kind for c in sorted(r.timesteps.cells, key=lambda c: (c.layer, c.direction))][
        :: len(spec.directions)
    ] == [layer.cell for layer in spec.layers]


@settings(max_examples=4, deadline=None)
@given(spec=specs(max_layers=2), unroll=st.sampled_from(["static", "dynamic"]))
def test_a_frozen_graph_reports_the_same_weights_and_cells(spec, unroll):
    from rnnviz.tfcompat import v1

    model = build(spec.replace(unroll=unroll))
    with model.graph.as_default():
        sess = model.session()
        sess.run(model.init_op)
        frozen = v1.graph_util.convert_variables_to_constants(
            sess, model.graph_def(), [model.logits.op.name]
        )
    live, cold = report(model.graph_def(), tfprof=False), report(frozen, tfprof=False)
    assert cold.params.total == live.params.total and cold.params.source == "frozen constants"
    assert [(lp.layer, lp.direction, lp.cell, lp.count) for lp in cold.params.by_layer] == [
        (lp.layer, lp.direction, lp.cell, lp.count) for lp in live.params.by_layer
    ]
    key = lambda c: (c.layer, c.direction, c.kind, c.form, c.calls)  # noqa: E731
    assert sorted(map(key, cold.timesteps.cells)) == sorted(map(key, live.timesteps.cells))
