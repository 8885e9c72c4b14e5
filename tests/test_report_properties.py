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
