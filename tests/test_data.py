"""Datasets: shapes and ranges of every loader, spec fitting, and the one-line errors for missing or
corrupt files (through the CLI, as a user meets them)."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from rnnviz.cli import main
from rnnviz.data import FASHION_MNIST_DIR, fit_spec, load_data, load_idx_dir, load_npz, synthetic
from rnnviz.errors import DataError
from rnnviz.spec import load_spec


def _write_idx(path, array, gz=True):
    header = b"\x00\x00\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)


@pytest.fixture
def idx_dir(tmp_path):
    rng = np.random.default_rng(0)
    for split, n in (("train", 30), ("t10k", 10)):
        _write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 6, 5)))
        # raw (not gzipped) labels: both forms are read
        _write_idx(tmp_path / f"{split}-labels-idx1-ubyte", rng.integers(0, 3, n), gz=False)
    return tmp_path


def test_digits_are_8_steps_of_8():
    d = load_data("digits")
    assert (d.steps, d.features, d.num_classes, d.image_shape) == (8, 8, 10, (8, 8))
    assert d.x_train.dtype == np.float32 and d.x_train.min() >= 0 and d.x_train.max() == 1.0
    assert len(d.x_train) + len(d.x_test) == 1797
    assert set(np.unique(d.y_test)) == set(range(10))  # stratified split keeps every class


def test_fashion_mnist_from_the_debian_package():
    d = load_data("fashion-mnist")
    assert d.source == str(FASHION_MNIST_DIR)
    assert (len(d.x_train), len(d.x_test), d.steps, d.features) == (60000, 10000, 28, 28)
    assert d.class_names[9] == "Ankle boot" and d.x_test.max() == 1.0


def test_idx_folder_gz_and_raw(idx_dir):
    d = load_idx_dir(idx_dir)
    assert d.x_train.shape == (30, 6, 5) and d.y_test.shape == (10,)
    assert d.x_train.max() <= 1.0 and d.num_classes == 3


def test_keras_npz(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "mnist.npz"
    np.savez(
        path,
        x_train=rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        y_train=np.arange(20) % 10,
        x_test=rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        y_test=np.arange(5),
    )
    d = load_npz(path)
    assert (d.steps, d.features, d.num_classes, len(d.x_test)) == (28, 28, 10, 5)
    np.savez(tmp_path / "bad.npz", x_train=np.zeros((2, 2, 2)))
    with pytest.raises(DataError, match="has no x_test, y_test, y_train array"):
        load_npz(tmp_path / "bad.npz")


def test_synthetic_is_variable_length_and_zero_padded():
    d = synthetic(n_train=200, n_test=50, steps=10, features=3)
    assert d.variable_length and d.lengths_train.min() >= 3 and d.lengths_train.max() <= 10
    for x, n in zip(d.x_train, d.lengths_train, strict=True):
        assert not x[n:].any() and x[n - 1].any()


def test_fit_spec_adapts_and_says_so():
    spec = load_spec("single_static_lstm")
    fitted, changes = fit_spec(spec, load_data("digits"))
    assert (fitted.time_steps, fitted.input_size) == (8, 8)
    assert changes == ["time_steps 28 -> 8", "input_size 28 -> 8"]
    fitted, changes = fit_spec(load_spec("single_static_gru"), synthetic(n_train=10, n_test=4))
    assert fitted.variable_length and fitted.control_flow == "v1" and fitted.num_classes == 4
    assert fit_spec(fitted, synthetic(n_train=10, n_test=4)) == (fitted, [])


def test_fit_spec_without_adapting_names_both_shapes():
    with pytest.raises(
        DataError, match=r"data digits \(8 steps of 8 features.*28 steps of 28 features"
    ):
        fit_spec(load_spec("single_static_lstm"), load_data("digits"), adapt=False)


def _one_error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_cli_missing_path(tmp_path, capsys):
    assert (
        main(
            [
                "train",
                "single_static_lstm",
                "--data",
                str(tmp_path / "nope"),
                "--runs",
                str(tmp_path),
            ]
        )
        == 2
    )
    line = _one_error_line(capsys)
    assert line.startswith("rnnviz train: error:") and "nope: no such dataset or file" in line


def test_cli_folder_without_idx_files_names_the_file(tmp_path, capsys):
    assert (
        main(
            ["train", "single_static_lstm", "--data", str(tmp_path), "--runs", str(tmp_path / "r")]
        )
        == 2
    )
    line = _one_error_line(capsys)
    assert "train-images-idx3-ubyte.gz: no such file" in line and "dataset-fashion-mnist" in line


def test_cli_missing_debian_package_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("rnnviz.data.FASHION_MNIST_DIR", tmp_path / "fashion-mnist")
    assert (
        main(
            [
                "train",
                "single_static_lstm",
                "--data",
                "fashion-mnist",
                "--runs",
                str(tmp_path / "r"),
            ]
        )
        == 2
    )
    assert "apt-get install dataset-fashion-mnist" in _one_error_line(capsys)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "bad-gzip"])
def test_cli_corrupt_idx_names_the_file(idx_dir, damage, capsys):
    target = idx_dir / "t10k-images-idx3-ubyte.gz"
    raw = target.read_bytes()
    if damage == "truncate":
        target.write_bytes(gzip.compress(gzip.decompress(raw)[:-7]))
    elif damage == "garbage":
        target.write_bytes(b"not an idx file at all")
    else:
        target.write_bytes(raw[:20])  # a gzip stream cut short
    assert (
        main(["train", "single_static_lstm", "--data", str(idx_dir), "--runs", str(idx_dir / "r")])
        == 2
    )
    line = _one_error_line(capsys)
    assert str(target) in line


def test_cli_corrupt_npz(tmp_path, capsys):
    bad = tmp_path / "mnist.npz"
    bad.write_bytes(b"PK\x03\x04 broken zip")
    assert (
        main(["train", "single_static_lstm", "--data", str(bad), "--runs", str(tmp_path / "r")])
        == 2
    )
    assert f"{bad}: not a readable .npz" in _one_error_line(capsys)
