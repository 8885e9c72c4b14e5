"""`rnnviz list` and `rnnviz build`: output, the written GraphDef, and one-line errors with exit 2."""

from __future__ import annotations

from rnnviz.cli import main
from rnnviz.spec import sample_names
from rnnviz.tfcompat import tf


def test_list_prints_one_sample_a_line(capsys):
    assert main(["list"]) == 0
    assert capsys.readouterr().out.split() == sample_names()


def test_build_writes_a_graphdef_with_the_steps_asked(tmp_path, capsys):
    out4, out6 = tmp_path / "g4.pb", tmp_path / "g6.pbtxt"
    assert main(["build", "single_static_gru", "--out", str(out4), "--steps", "4"]) == 0
    assert main(["build", "single_static_gru", "--out", str(out6), "--steps", "6"]) == 0
    g4 = tf.compat.v1.GraphDef.FromString(out4.read_bytes())
    from google.protobuf import text_format

    g6 = text_format.Parse(out6.read_text(), tf.compat.v1.GraphDef())
    unstack = [n for n in g4.node if n.op == "Unpack"]
    assert unstack and unstack[0].attr["num"].i == 4
    assert len(g6.node) > len(g4.node)  # one more cell copy per extra step
    assert "T=4" in capsys.readouterr().out


def test_build_accepts_a_spec_path(tmp_path):
    spec = tmp_path / "mine.toml"
    spec.write_text(
        'unroll = "dynamic"\ntime_steps = 3\ninput_size = 2\n[[layers]]\ncell = "gru"\nunits = 3\n'
    )
    out = tmp_path / "mine.pb"
    assert main(["build", str(spec), "--out", str(out)]) == 0
    graph = tf.compat.v1.GraphDef.FromString(out.read_bytes())
    assert any(n.op in ("While", "StatelessWhile") for n in graph.node)


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def test_bad_inputs_exit_2_with_one_line(tmp_path, capsys):
    good = tmp_path / "keep.pb"
    good.write_bytes(b"precious")
    assert main(["build", "no_such_model", "--out", str(good)]) == 2
    assert "no_such_model" in _error_line(capsys)
    assert main(["build", "single_static_lstm", "--out", str(good), "--steps", "0"]) == 2
    assert "time_steps = 0" in _error_line(capsys)
    assert main(["build", "single_static_lstm", "--out", str(tmp_path / "nope" / "g.pb")]) == 2
    assert "does not exist" in _error_line(capsys)
    broken = tmp_path / "broken.toml"
    broken.write_text("[[layers]]\ncell = 'lstm'\nunits = 'many'\n")
    assert main(["build", str(broken), "--out", str(good)]) == 2
    assert "broken.toml" in _error_line(capsys)
    assert good.read_bytes() == b"precious"  # a failed command loses no data
