"""Bad input: one line naming the file and the problem, exit code 2, never a traceback; and a
hypothesis fuzz over mutated GraphDef bytes that only ever sees `InputFileError`."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnviz.builder import build
from rnnviz.cli import main
from rnnviz.errors import InputFileError
from rnnviz.reporting import GraphReport, report
from rnnviz.spec import LayerSpec, ModelSpec


@pytest.fixture(scope="module")
def graph_bytes() -> bytes:
    spec = ModelSpec(
        name="fuzz_lstm",
        layers=(LayerSpec("lstm", 4),),
        unroll="static",
        time_steps=3,
        input_size=3,
        num_classes=2,
    )
    return build(spec, with_train_op=False).graph_def().SerializeToString()


def _zero_node_graph() -> bytes:
    from tensorflow.core.framework import graph_pb2

    gd = graph_pb2.GraphDef()
    gd.versions.producer = 1882  # a valid, non-empty GraphDef with no nodes at all
    return gd.SerializeToString()


def _cases(tmp_path, graph_bytes):
    truncated = tmp_path / "truncated.pb"
    truncated.write_bytes(graph_bytes[: len(graph_bytes) // 2])
    corrupt = tmp_path / "corrupt.pb"
    corrupt.write_bytes(b"\xff\xff\xff\xff" + graph_bytes[4:])
    png = tmp_path / "picture.pb"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    text = tmp_path / "notes.pbtxt"
    text.write_text("this is { not a graph")
    empty = tmp_path / "empty.pb"
    empty.write_bytes(b"")
    folder = tmp_path / "not_a_saved_model"
    folder.mkdir()
    (folder / "readme.txt").write_text("hello")
    zero = tmp_path / "zero.pb"
    zero.write_bytes(_zero_node_graph())
    bad_saved = tmp_path / "bad_saved"
    bad_saved.mkdir()
    (bad_saved / "saved_model.pb").write_bytes(b"garbage" * 10)
    events = tmp_path / "events.out.tfevents.123.host"
    events.write_bytes(b"\x00" * 40)
    return {
        "truncated": truncated,
        "corrupt": corrupt,
        "wrong kind": png,
        "bad text": text,
        "empty": empty,
        "no saved_model": folder,
        "zero nodes": zero,
        "bad saved_model": bad_saved,
        "events without graph": events,
        "missing": tmp_path / "does_not_exist.pb",
    }


def test_every_bad_input_is_one_line_and_exit_2(tmp_path, graph_bytes, capsys):
    for label, path in _cases(tmp_path, graph_bytes).items():
        assert main(["report", str(path)]) == 2, label
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1, (label, captured.err)
        assert lines[0].startswith("rnnviz report: error: "), label
        assert path.name in lines[0], (label, lines[0])
        assert "Traceback" not in captured.err and captured.out == ""


def test_api_raises_input_file_error(tmp_path, graph_bytes):
    for label, path in _cases(tmp_path, graph_bytes).items():
        with pytest.raises(InputFileError):
            report(path)
        assert label


def test_in_memory_zero_node_graph_and_wrong_object():
    from tensorflow.core.framework import graph_pb2

    with pytest.raises(InputFileError, match="zero nodes"):
        report(graph_pb2.GraphDef())
    with pytest.raises(InputFileError, match="not a graph source"):
        report(42)


def test_memory_for_a_file_is_refused(tmp_path, graph_bytes, capsys):
    path = tmp_path / "g.pb"
    path.write_bytes(graph_bytes)
    assert main(["report", str(path), "--memory"]) == 2
    assert "only for models rnnviz builds" in capsys.readouterr().err


def test_unknown_model_name_is_one_line(capsys):
    assert main(["report", "no_such_model"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no_such_model" in err[0]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzz_mutated_graphdef_only_raises_input_file_error(tmp_path, graph_bytes, data):
    raw = bytearray(graph_bytes)
    for _ in range(data.draw(st.integers(1, 8), label="mutations")):
        kind = data.draw(st.sampled_from(["flip", "cut", "insert", "zero"]), label="kind")
        pos = data.draw(st.integers(0, max(len(raw) - 1, 0)), label="pos")
        if kind == "flip" and raw:
            raw[pos] ^= data.draw(st.integers(1, 255), label="mask")
        elif kind == "cut":
            raw = raw[: pos + 1] + raw[pos + 1 + data.draw(st.integers(1, 64)) :]
        elif kind == "insert":
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=16), label="bytes")
        else:
            raw[pos : pos + 8] = b"\x00" * 8
    path = tmp_path / "fuzzed.pb"
    path.write_bytes(bytes(raw))
    try:
        result = report(path)
    except InputFileError as exc:
        assert "fuzzed.pb" in str(exc) and "\n" not in str(exc)
    else:
        assert isinstance(result, GraphReport)
