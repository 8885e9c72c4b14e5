"""What the Training and Report pages draw: heatmap colour ranges against a real run's stored
activations, run names, the report's labelled tables and charts, and the claims' paragraphs."""

from __future__ import annotations

import numpy as np
import pytest

from app import figures
from rnnviz import charts
from rnnviz.claims import HOLDS, NOT_HERE, claims
from rnnviz.spec import LayerSpec, ModelSpec
from rnnviz.store import RunStore

SIGMOID = {"i", "f", "o", "r", "u"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunStore, str]:
    """A tiny LSTM + GRU run on digits (every recorded kind: h c i j f o r u), in its store."""
    from rnnviz.training import train

    runs = tmp_path_factory.mktemp("runs")
    spec = ModelSpec(
        name="tiny_mix",
        layers=(LayerSpec("lstm", 12), LayerSpec("gru", 10)),
        unroll="static",
        time_steps=8,
        input_size=8,
    )
    run = train(spec, "digits", steps=60, batch_size=32, runs_dir=runs, activation_every=30)
    return RunStore(runs), run.run_id


def _traces(fig) -> dict[tuple[int, str, str], object]:
    out = {}
    for trace in fig.data:
        layer, direction, kind = trace.name.split()
        out[(int(layer.removeprefix("L")), direction, kind)] = trace
    return out


@pytest.mark.slow
def test_heatmap_ranges_match_each_kind_and_the_stored_values(trained) -> None:
    store, run_id = trained
    step = store.snapshot_steps(run_id)[-1]
    acts = store.activations(run_id, step, sample=1)
    assert {k[2] for k in acts} == {"h", "c", "i", "j", "f", "o", "r", "u"}
    traces = _traces(figures.heatmaps_figure(acts))
    assert set(traces) == set(acts)
    largest_c = max(float(np.abs(v).max()) for k, v in acts.items() if k[2] == "c")
    for key, data in acts.items():
        trace, kind = traces[key], key[2]
        np.testing.assert_array_equal(np.asarray(trace.z), data)  # drawn as stored
        if kind in SIGMOID:
            assert (trace.zmin, trace.zmax) == (0.0, 1.0)
        elif kind in ("j", "h"):
            assert (trace.zmin, trace.zmax) == (-1.0, 1.0)
        else:  # c: symmetric around 0 by its largest magnitude over all layers
            assert trace.zmax == pytest.approx(largest_c) and trace.zmin == -trace.zmax
        assert trace.zmin <= data.min() and data.max() <= trace.zmax  # nothing clipped
        assert "step %{y}" in trace.hovertemplate and "unit %{x}" in trace.hovertemplate
        assert "value %{z" in trace.hovertemplate
    # The candidate is a tanh: a 0..1 scale (the old one) would have clipped its negative half.
    assert min(float(v.min()) for k, v in acts.items() if k[2] == "j") < 0
    # One colour bar per kind (the layers of a kind share its range).
    shown = [t.name.split()[2] for t in traces.values() if t.showscale]
    assert sorted(shown) == sorted({k[2] for k in acts})


def test_colour_range_widens_a_projected_h_instead_of_clipping_it() -> None:
    projected = np.array([[-2.5, 0.3], [1.2, 0.0]])
    assert figures.colour_range("h", [projected]) == (-2.5, 2.5)
    assert figures.colour_range("h", [np.tanh(projected)]) == (-1.0, 1.0)
    assert figures.colour_range("c", [np.zeros((2, 2))]) == (-1.0, 1.0)  # no zero-width scale


@pytest.mark.slow
def test_runs_are_named_and_a_stopped_run_says_why_it_has_no_test_accuracy(trained) -> None:
    store, run_id = trained
    finished = store.get_run(run_id)
    stopped_id = store.create_run(finished.spec, finished.data_source, {"steps": 300})
    store.write_progress(stopped_id, steps_done=120)
    store.set_status(stopped_id, "stopped")
    rows = {r["id"]: r for r in figures.runs_rows(store.list_runs())}
    label = figures.run_label(finished)
    assert label.startswith("tiny_mix · digits · ")
    assert rows[run_id]["run"] == label
    assert rows[run_id]["test accuracy"] == f"{finished.test_accuracy:.3f}"
    why = rows[stopped_id]["test accuracy"]
    assert "stopped at step 120" in why and f"--resume {stopped_id}" in why
    series = {label: [{"step": 1, "loss": 2.0}]}
    assert [t.name for t in figures.curves_figure(series).data] == [f"{label} loss"]


def _report(by_layer: list[dict], peak: int, steps: int = 4) -> dict:
    return {
        "model": "x",
        "ops": {"total": 10, "by_role": {"forward": 7, "gradients": 3}, "by_type": {"MatMul": 2}},
        "params": {
            "total": 100,
            "bytes": 400,
            "by_layer": by_layer,
            "variables": [
                {
                    "shape": [12, 32],
                    "gates": [
                        {"gate": g, "start": 8 * k, "stop": 8 * k + 8} for k, g in enumerate("ijfo")
                    ],
                }
            ],
        },
        "states": {"per_step": 40 if steps else 0, "by_kind": {"h": 8, "c": 8}, "loop_exits": []},
        "sizes": {"graphdef_bytes": 2_000_000},
        "flops": {"forward_per_sequence": 5_000_000},
        "memory": {"peak_bytes": peak, "batch": 32, "steps": 4},
        "loops": [],
        "unrolled_steps": steps,
    }


LAYERS = [  # as a report may list them: not in layer order
    {"layer": 1, "direction": "fw", "cell": "lstm", "count": 30},
    {"layer": 0, "direction": "bw", "cell": "lstm", "count": 20},
    {"layer": 0, "direction": "fw", "cell": "lstm", "count": 10},
]


def test_report_charts_have_one_unit_each_and_layers_in_order() -> None:
    report = _report(LAYERS, 3_000_000)
    built = {"build_seconds": 2.0, "saved_model_bytes": 4_000_000}
    found = dict(charts.report_charts({"static": report, "dynamic": report}, {"static": built}))
    assert list(found["layers"].data[0].x) == [
        "layer 0 fw lstm",
        "layer 0 bw lstm",
        "layer 1 fw lstm",
    ]
    assert list(found["layers"].data[0].y) == [10, 20, 30]
    assert found["gates"].data[0].x[0] == "i (input gate)"
    assert dict(zip(found["gates"].data[0].x, found["gates"].data[0].y, strict=True)) == {
        charts.KIND_NAMES[g]: 12 * 8 for g in "ijfo"
    }
    assert found["sizes"].layout.yaxis.title.text == "MB"
    sizes = dict(zip(found["sizes"].data[0].x, found["sizes"].data[0].y, strict=True))
    assert sizes == {
        "GraphDef": 2.0,
        "SavedModel": 4.0,
        "parameters": 0.0004,
        "peak memory, one training step": 3.0,
    }
    assert found["flops"].layout.yaxis.title.text == "MFLOP"
    assert found["build"].layout.yaxis.title.text == "s"
    for name, fig in found.items():  # every chart says what its axes are
        assert fig.layout.yaxis.title.text, name
    assert [t.name for t in found["roles"].data] == ["static", "dynamic"]
    # A loop graph's file: no per-step states, no build time: those charts are left out.
    loop_file = {**report, "states": {"per_step": 0, "by_kind": {}}}
    assert set(dict(charts.report_charts({"file": loop_file}))) == set(found) - {"states", "build"}


def test_compare_table_labels_units_and_ratio_direction() -> None:
    rows = charts.compare_table(
        {
            "rows": [
                {"figure": "ops.total", "a": 8671, "b": 648, "ratio": 648 / 8671},
                {"figure": "memory.peak_bytes", "a": 22_287_720, "b": 23_917_480, "ratio": 1.07},
                {"figure": "sizes.saved_model_bytes", "a": None, "b": None, "ratio": None},
                {"figure": "some.new_figure", "a": 0, "b": 5, "ratio": None},
            ]
        },
        {
            "static": {"build_seconds": 4.9, "saved_model_bytes": 6_647_766},
            "dynamic": {"build_seconds": 0.57, "saved_model_bytes": 4_462_728},
        },
    )
    by_label = {r["figure"]: r for r in rows}
    assert by_label["graph nodes (main graph)"] == {
        "figure": "graph nodes (main graph)",
        "static": "8,671",
        "dynamic": "648",
        charts.RATIO: "13.4×",  # static / dynamic, as the header says
    }
    assert by_label["peak memory of one training step (MB)"]["static"] == "22.3"
    assert by_label["peak memory of one training step (MB)"][charts.RATIO] == "0.932×"
    assert by_label["SavedModel size, graph + variables (MB)"]["dynamic"] == "4.46"
    assert by_label["graph build time (s)"][charts.RATIO] == f"{4.9 / 0.57:.3g}×"
    assert by_label["some.new_figure"][charts.RATIO] == "-"  # nothing divides by zero


def test_claims_read_the_measured_figures() -> None:
    static = _report(LAYERS[2:], peak=22_287_720)
    dynamic = _report(LAYERS[2:], peak=23_917_480, steps=0)
    dynamic["loops"] = [
        {"name": "rnn/while", "role": "forward", "body_ops": 109, "swap_memory": False}
    ]
    dynamic["ops"] = {**dynamic["ops"], "by_type": {"Transpose": 3}}
    builds = {"static": {"build_seconds": 4.9, "saved_model_bytes": 6_647_766},
              "dynamic": {"build_seconds": 0.57, "saved_model_bytes": 4_462_728}}  # fmt: skip
    found = {c.number: c for c in claims(static, dynamic, builds, {"time_major": False})}
    assert len(found) == 8
    assert found[1].verdict == HOLDS and "4.90 s static and 0.57 s dynamic" in found[1].text
    # Static needed less memory here: the paragraph says the claim does not hold, with figures.
    assert found[2].verdict == NOT_HERE and "22.29 MB static, 23.92 MB dynamic" in found[2].text
    assert found[3].verdict == HOLDS and "6.65 MB static, 4.46 MB dynamic" in found[3].text
    assert found[4].verdict == HOLDS and "40 per-step tensors" in found[4].text
    assert "swap_memory = False" in found[6].text
    assert found[8].verdict == HOLDS and "0 static, 3 dynamic" in found[8].text
    bidirectional = claims(static, dynamic, builds, {"bidirectional": True})[6]
    assert bidirectional.verdict == NOT_HERE and "outputs[:, 0]" in bidirectional.text
