"""Every kind of source gives the same graph: BuiltModel, tf.Graph, GraphDef, .pb, .pbtxt, .meta,
SavedModel (TF1 via rnnviz export), TensorBoard events file; and the CLI around them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from google.protobuf import text_format

from rnnviz.builder import build
from rnnviz.cli import main
from rnnviz.commands.report import export
from rnnviz.reporting import report
from rnnviz.reporting.sources import load_graph_def
from rnnviz.spec import LayerSpec, ModelSpec


@pytest.fixture(scope="module")
def model():
    spec = ModelSpec(
        name="src_static_gru",
        layers=(LayerSpec("gru", 6),),
        unroll="static",
        time_steps=3,
        input_size=4,
        num_classes=3,
    )
    return build(spec)


@pytest.fixture(scope="module")
def files(model, tmp_path_factory):
    d = tmp_path_factory.mktemp("sources")
    gd = model.graph_def()
    (d / "g.pb").write_bytes(gd.SerializeToString())
    (d / "g.pbtxt").write_text(text_format.MessageToString(gd))
    with model.graph.as_default():
        model.saver.export_meta_graph(str(d / "g.meta"))
    paths = export(model, d / "export")
    return {
        "pb": d / "g.pb",
        "pbtxt": d / "g.pbtxt",
        "meta": d / "g.meta",
        "saved_model": paths["saved_model"],
        "events": paths["events"],
    }


@pytest.mark.slow
def test_all_sources_agree(model, files):
    base = report(model)
    others = [report(model.graph), report(model.graph_def())] + [report(p) for p in files.values()]
    kinds = [r.source_kind for r in others]
    assert kinds == ["tf_graph", "graph_def", "pb", "pbtxt", "meta", "saved_model", "events"]
    for r in others:
        assert r.params.total == base.params.total, r.source_kind
        assert r.unrolled_steps == 3
        assert r.states.per_step == base.states.per_step
        assert r.flops.forward_per_sequence == base.flops.forward_per_sequence
    # The files hold exactly the builder's graph (the SavedModel adds its own save/restore ops).
    for r in others[:5]:
        assert r.ops.total == base.ops.total
    saved = others[5]
    assert saved.sizes.saved_model_bytes and saved.sizes.saved_model_bytes > saved.params.bytes
    assert saved.params.source == "collection"


def test_load_graph_def_is_parse_only(files):
    gd, info = load_graph_def(files["pb"])
    assert info.kind == "pb" and info.graphdef_bytes == files["pb"].stat().st_size
    assert len(gd.node) > 100


def test_cli_report_json_and_text_for_a_file(files, capsys):
    assert main(["report", str(files["pb"]), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["unrolled_steps"] == 3 and data["recurrent"] is True
    assert main(["report", str(files["saved_model"])]) == 0
    out = capsys.readouterr().out
    assert "SavedModel size" in out and "Parameters" in out


@pytest.mark.slow
def test_cli_model_with_steps_and_compare(capsys):
    assert main(["report", "single_dynamic_gru", "--steps", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["unrolled_steps"] == 0 and data["loops"][0]["kind"] == "v2_while"
    assert data["flops"]["forward_per_sequence"] > 0
    assert (
        main(["compare", "single_static_gru", "single_dynamic_gru", "--steps", "3", "--json"]) == 0
    )
    rows = {r["figure"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    assert rows["params.total"]["ratio"] == 1.0
    assert rows["flops.forward_per_sequence"]["ratio"] == 1.0  # fixed length: exact
    assert main(["compare", "single_static_gru", "single_dynamic_gru", "--steps", "3"]) == 0
    assert "B / A" in capsys.readouterr().out


@pytest.mark.slow
def test_cli_export_writes_saved_model_and_event_file(tmp_path, capsys):
    out = tmp_path / "exp"
    assert main(["export", "basic_rnn_static", str(out), "--steps", "3"]) == 0
    assert (out / "saved_model" / "saved_model.pb").is_file()
    events = list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert len(events) == 1
    assert report(events[0]).unrolled_steps == 3
    assert main(["export", "basic_rnn_static", str(out)]) == 2  # not empty any more
    assert "not empty" in capsys.readouterr().err


_NO_TF = """
import sys
from rnnviz.cli import main
code = main(["report", sys.argv[1], "--json"])
loaded = sorted(m for m in sys.modules if m == "tensorflow" or m.startswith("tensorflow."))
print("TF-MODULES", len(loaded), loaded[:3])
sys.exit(code)
"""


@pytest.mark.parametrize("kind", ["pb", "pbtxt", "meta", "saved_model", "events"])
def test_reading_a_file_does_not_import_tensorflow(files, kind):
    """Parsing and analysing a file needs only the protobuf definitions: a fresh process that
    reports on it never imports TensorFlow (which costs seconds and hundreds of MB)."""
    done = subprocess.run(
        [sys.executable, "-c", _NO_TF, str(files[kind])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last == "TF-MODULES 0 []", last
    data = json.loads(done.stdout[: done.stdout.rindex("TF-MODULES")])
    assert data["unrolled_steps"] == 3 and data["source_kind"] == kind
