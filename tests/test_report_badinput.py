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


# ---- files that are not regular, too big, blank or too deep; bugs vs bad files ---------------
# Peak RSS from VmHWM: getrusage's ru_maxrss keeps the forking parent's peak across exec.
_ONE_REPORT = """
import re, sys
from rnnviz.cli import main
code = main(["report", sys.argv[1]])
status = open("/proc/self/status").read()
print("PEAK-KB", re.search(r"VmHWM:\\s+(\\d+)", status).group(1))
sys.exit(code)
"""


def _run_report(path, env=None):
    import os
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _ONE_REPORT, str(path)],
        capture_output=True,
        text=True,
        timeout=120,  # a FIFO that blocked would fail here instead of hanging the suite
        env={**os.environ, **(env or {})},
    )
    peak_kb = int(done.stdout.rsplit("PEAK-KB", 1)[1])
    return done.returncode, done.stderr.strip().splitlines(), peak_kb


def _deep_pbtxt(levels: int) -> str:
    inner = 'func { name: "f" attr { key: "k" value { ' * levels + "} } " * levels
    return f'node {{ name: "a" op: "b" attr {{ key: "k" value {{ {inner} }} }} }}'


def test_unreadable_kinds_of_file_are_one_line_exit_2(tmp_path):
    """FIFO (not opened: it would block), a device, a sparse 1 GB text file (refused after its
    first 64 kB: the process stays small), a .pbtxt nested 300 levels, a file over the cap."""
    import os

    fifo = tmp_path / "pipe.pb"
    os.mkfifo(fifo)
    sparse = tmp_path / "blank.pbtxt"
    with open(sparse, "wb") as fh:
        fh.truncate(1 << 30)
    deep = tmp_path / "deep.pbtxt"
    deep.write_text(_deep_pbtxt(300))
    big = tmp_path / "big.pb"
    big.write_bytes(b"\x0a" * (2 << 20))
    cases = [
        (fifo, "named pipe", None),
        ("/dev/zero", "character device", None),
        (sparse, "zero bytes", None),
        (deep, "nested too deeply", None),
        (big, "RNNVIZ_MAX_GRAPH_MB", {"RNNVIZ_MAX_GRAPH_MB": "1"}),
    ]
    for path, words, env in cases:
        code, err, peak_kb = _run_report(path, env)
        assert code == 2, (path, err)
        assert len(err) == 1 and err[0].startswith("rnnviz report: error: "), err
        assert words in err[0] and str(path) in err[0], err
        assert peak_kb < 300 * 1024, (path, peak_kb)  # never read whole: far below 1 GB


def _corrupt_attribute_graph() -> bytes:
    """A Const feeding an Enter whose attribute bytes do not decode (field 5 = attr map entry
    whose AttrValue is garbage): the slim parse keeps them unread, the analysis reads them."""

    def field(number: int, payload: bytes) -> bytes:
        return bytes([number << 3 | 2, len(payload)]) + payload

    const = field(1, b"a") + field(2, b"Const")
    enter = field(1, b"e") + field(2, b"Enter") + field(3, b"a")
    enter += field(5, field(1, b"frame_name") + field(2, b"\xff\xff\xff\xff\xff"))
    return field(1, const) + field(1, enter)


def test_corrupt_attributes_are_the_files_fault(tmp_path):
    path = tmp_path / "attrs.pb"
    path.write_bytes(_corrupt_attribute_graph())
    with pytest.raises(InputFileError, match="node 'e' has corrupt attributes"):
        report(path)


def test_a_bug_in_the_analysis_keeps_its_traceback(tmp_path, graph_bytes, monkeypatch):
    """The same KeyError that a malformed graph could raise is not blamed on the file."""
    import rnnviz.reporting.analysis as analysis

    def broken(*args, **kwargs):
        raise KeyError("a bug in rnnviz")

    path = tmp_path / "good.pb"
    path.write_bytes(graph_bytes)
    monkeypatch.setattr(analysis, "walk_loops", broken)
    with pytest.raises(KeyError, match="a bug in rnnviz"):
        report(path)
    with pytest.raises(KeyError):
        main(["report", str(path)])
