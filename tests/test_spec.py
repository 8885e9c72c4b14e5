"""Specs are validated data: every invalid value names its field; TOML and dict forms round-trip."""

from __future__ import annotations

import pytest

from rnnviz.errors import SpecError
from rnnviz.spec import LayerSpec, ModelSpec, load_spec, load_spec_file, sample_names

SOURCE_VARIANTS = [
    "single_static_lstm",
    "single_static_gru",
    "single_dynamic_lstm",
    "single_dynamic_gru",
    "multi_static_lstm",
    "multi_static_gru",
    "multi_static_mix",
    "multi_dynamic_lstm",
    "multi_dynamic_gru",
    "multi_dynamic_mix",
    "bi_static_lstm",
    "bi_dynamic_lstm",
    "multi_bi_static_lstm",
    "multi_bi_dynamic_lstm",
]


def test_the_fourteen_source_variants_are_samples():
    names = set(sample_names())
    assert set(SOURCE_VARIANTS) <= names
    for name in SOURCE_VARIANTS:
        spec = load_spec(name)
        assert (spec.time_steps, spec.input_size, spec.num_classes) == (28, 28, 10)
        assert spec.unroll == ("static" if "_static_" in name else "dynamic")
        assert spec.bidirectional == name.startswith(("bi_", "multi_bi_"))
        assert len(spec.layers) == (
            1 if name.startswith(("single", "bi_")) else 2 if "mix" in name else 3
        )


def test_mix_is_lstm128_then_gru256():
    spec = load_spec("multi_static_mix")
    assert [(lay.cell, lay.units) for lay in spec.layers] == [("lstm", 128), ("gru", 256)]


def test_extra_samples_cover_the_options():
    specs = [load_spec(n) for n in sample_names()]
    assert any(lay.cell == "basic_rnn" for s in specs for lay in s.layers)
    assert any(lay.use_peepholes and lay.num_proj for s in specs for lay in s.layers)
    assert any(s.has_dropout and len(s.layers) > 1 for s in specs)
    assert any(s.variable_length for s in specs)
    assert any(s.time_major for s in specs)
    assert any(s.unroll == "dynamic" and s.control_flow == "v1" for s in specs)


@pytest.mark.parametrize("name", sample_names())
def test_samples_round_trip_through_dicts(name):
    spec = load_spec(name)
    assert ModelSpec.from_dict(spec.to_dict()) == spec


def _spec(**changes):
    base = dict(name="t", layers=(LayerSpec("lstm", 4),), time_steps=3, input_size=2)
    base.update(changes)
    return ModelSpec(**base)


@pytest.mark.parametrize(
    ("changes", "field", "value"),
    [
        (dict(layers=()), "layers", "[]"),
        (dict(layers=("lstm",)), "layers[0]", "'lstm'"),
        (dict(unroll="loop"), "unroll", "'loop'"),
        (dict(time_steps=None), "time_steps", "None"),
        (dict(time_steps=0), "time_steps", "0"),
        (dict(input_size=-1), "input_size", "-1"),
        (dict(num_classes=1), "num_classes", "1"),
        (dict(control_flow="v3"), "control_flow", "'v3'"),
        (dict(parallel_iterations=0), "parallel_iterations", "0"),
        (dict(learning_rate=0), "learning_rate", "0"),
        (dict(bidirectional="yes"), "bidirectional", "'yes'"),
    ],
)
def test_invalid_model_fields_are_named(changes, field, value):
    with pytest.raises(SpecError) as err:
        _spec(**changes)
    message = str(err.value)
    assert field in message and value in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("layer", "field", "hint"),
    [
        (dict(cell="lstmx", units=4), "layers[0].cell", "basic_rnn"),
        (dict(cell="lstm", units=0), "layers[0].units", "from 1 to"),
        (dict(cell="lstm", units=True), "layers[0].units", "integer"),
        (dict(cell="gru", units=4, num_proj=2), "layers[0].num_proj", "only cell = 'lstm'"),
        (dict(cell="gru", units=4, use_peepholes=True), "layers[0].use_peepholes", "only cell"),
        (dict(cell="basic_lstm", units=4, cell_clip=1.0), "layers[0].cell_clip", "only cell"),
        (dict(cell="gru", units=4, forget_bias=0.5), "layers[0].forget_bias", "only LSTM"),
        (dict(cell="lstm", units=4, proj_clip=1.0), "layers[0].proj_clip", "needs num_proj"),
        (dict(cell="lstm", units=4, input_keep_prob=0.0), "layers[0].input_keep_prob", "(0, 1]"),
        (dict(cell="lstm", units=4, output_keep_prob=1.5), "layers[0].output_keep_prob", "(0, 1]"),
        (dict(cell="lstm", units=4, num_proj=0), "layers[0].num_proj", "from 1 to"),
    ],
)
def test_invalid_layer_fields_are_named(layer, field, hint):
    with pytest.raises(SpecError) as err:
        ModelSpec.from_dict({"name": "t", "layers": [layer], "time_steps": 3})
    assert field in str(err.value) and hint in str(err.value)


def test_unknown_fields_are_rejected_by_name():
    with pytest.raises(SpecError, match="unroled"):
        ModelSpec.from_dict(
            {"name": "t", "layers": [{"cell": "gru", "units": 2}], "unroled": "static"}
        )
    with pytest.raises(SpecError, match=r"layers\[0\].size"):
        ModelSpec.from_dict({"name": "t", "layers": [{"cell": "gru", "size": 2}]})


def test_dynamic_spec_may_leave_time_steps_open():
    assert _spec(unroll="dynamic", time_steps=None).time_steps is None


def test_twin_and_with_steps():
    spec = load_spec("multi_static_lstm")
    dyn = spec.twin("dynamic")
    assert (
        dyn.unroll == "dynamic" and dyn.name == "multi_dynamic_lstm" and dyn.layers == spec.layers
    )
    assert spec.with_steps(200).time_steps == 200
    with pytest.raises(SpecError, match="time_steps"):
        spec.with_steps(0)


def test_toml_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"bad\.toml.*TOML"):
        load_spec_file(bad)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('unroll = "static"\n[[layers]]\ncell = "gru"\nunits = -3\n', encoding="utf-8")
    with pytest.raises(SpecError, match=r"wrong\.toml.*units = -3"):
        load_spec_file(wrong)
    with pytest.raises(SpecError, match="rnnviz list"):
        load_spec("no_such_model")
