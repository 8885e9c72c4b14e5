"""Datasets as plain arrays, from files already on this machine (nothing is downloaded).

* `digits`: scikit-learn's 1,797 real handwritten digits, 8x8, read row by row (8 steps of 8).
* an MNIST-format IDX directory (`train-images-idx3-ubyte[.gz]` ...): real MNIST if the user has
  it, or Fashion-MNIST from Debian's `dataset-fashion-mnist` (`fashion-mnist`, the default path):
  28 steps of 28, as in the source experiments.
* Keras' `mnist.npz` (`x_train, y_train, x_test, y_test`) from a path.
* `synthetic`: a small variable-length sequence task, for tests and the variable-length specs.

A `Dataset` is batch-major `[N, T, F]` float32 in [0, 1] with int64 labels; `fit_spec` makes a
model spec agree with it (steps, features, classes) and says what it changed. No TensorFlow here.
"""

from __future__ import annotations

import gzip
import math
import os
import stat
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rnnviz.errors import DataError
from rnnviz.spec import ModelSpec

FASHION_MNIST_DIR = Path(
    os.environ.get("RNNVIZ_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")
)
FASHION_PACKAGE = "dataset-fashion-mnist"
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
NAMED = ("digits", "fashion-mnist", "synthetic")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train and test splits as arrays: x `[N, T, F]` float32 in [0, 1], y `[N]` int64.

    `lengths_*` (int32 `[N]`) are set for variable-length data: steps at and past a sequence's
    length are zero padding. `image_shape` (rows, cols) is set when each sample is an image read
    row by row, so a viewer can draw it back.
    """

    name: str
    source: str  # where it came from, for the run store and messages
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    lengths_train: np.ndarray | None = None
    lengths_test: np.ndarray | None = None
    image_shape: tuple[int, int] | None = None
    class_names: tuple[str, ...] = field(default=())
    ref: str = ""  # the `load_data` argument that loads it again ("" if none does): for resume

    @property
    def steps(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def features(self) -> int:
        return int(self.x_train.shape[2])

    @property
    def variable_length(self) -> bool:
        return self.lengths_train is not None

    def describe(self) -> str:
        return (
            f"{self.name}: {len(self.x_train)} train / {len(self.x_test)} test, "
            f"{self.steps} steps of {self.features} features, {self.num_classes} classes"
            + (" (variable length)" if self.variable_length else "")
        )

    def probe_indices(self, count: int = 4) -> np.ndarray:
        """Test samples for activation probes: the first of each class in turn (fixed, not random)."""
        picked: list[int] = []
        for cls in range(self.num_classes):
            hits = np.flatnonzero(self.y_test == cls)
            if len(hits):
                picked.append(int(hits[0]))
            if len(picked) == count:
                break
        return np.array(picked or list(range(min(count, len(self.y_test)))), dtype=np.int64)


# ---- loaders ----------------------------------------------------------------------------------
def load_digits(test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """scikit-learn's handwritten digits (bundled with it), 8 rows of 8 pixels, stratified split."""
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    bunch = sk_digits()
    x = (bunch.images / 16.0).astype(np.float32)  # pixel values are 0..16
    y = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y
    )
    return Dataset(
        name="digits",
        source="digits (scikit-learn load_digits)",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        num_classes=10,
        image_shape=(8, 8),
        class_names=tuple(str(i) for i in range(10)),
        ref="digits" if (test_fraction, seed) == (0.25, 0) else "",
    )


def _how_to_get(directory: Path) -> str:
    if directory.resolve() == FASHION_MNIST_DIR.resolve():
        return f"install Debian's {FASHION_PACKAGE} (apt-get install {FASHION_PACKAGE})"
    return (
        "put MNIST-format IDX files there (train-images-idx3-ubyte.gz ...), or use --data digits, "
        f"or install Debian's {FASHION_PACKAGE} for Fashion-MNIST"
    )


def _max_data_bytes() -> int:
    from rnnviz.settings import MB, settings

    return int(settings().max_data_mb * MB)


def checked_data_file(path: Path, hint: str) -> int:
    """The size of a data file, after checking it is a regular file within the size cap (a FIFO
    would block the read forever, a device would never end)."""
    try:
        st = path.stat()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror}); {hint}") from None
    if not stat.S_ISREG(st.st_mode):
        raise DataError(f"{path}: not a regular file; {hint}")
    limit = _max_data_bytes()
    if st.st_size > limit:
        raise DataError(
            f"{path}: {st.st_size / 2**20:,.0f} MB is over the {limit / 2**20:,.0f} MB data limit "
            f"(RNNVIZ_MAX_DATA_MB); {hint}"
        )
    if not os.access(path, os.R_OK):
        raise DataError(f"{path}: cannot read (permission denied); {hint}")
    return st.st_size


def _read_capped(path: Path, hint: str) -> bytes:
    """A data file's bytes, gunzipped if it is gzip, streamed with the size cap applied to the
    decompressed bytes (a gzip bomb stops at the cap, not at the memory's end)."""
    checked_data_file(path, hint)
    limit = _max_data_bytes()
    chunks, total = [], 0
    with open(path, "rb") as fh:
        is_gzip = fh.read(2) == b"\x1f\x8b"
    with gzip.open(path, "rb") if is_gzip else open(path, "rb") as src:
        while chunk := src.read(1 << 20):
            total += len(chunk)
            if total > limit:
                raise DataError(
                    f"{path}: unpacks to more than the {limit / 2**20:,.0f} MB data limit "
                    f"(RNNVIZ_MAX_DATA_MB); {hint}"
                )
            chunks.append(chunk)
    return b"".join(chunks)


def _read_idx(path: Path, expect_dims: int, hint: str) -> np.ndarray:
    """One IDX file (ubyte only, as MNIST ships), gzipped or not."""
    try:
        raw = _read_capped(path, hint)
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(f"{path}: cannot read ({exc}); {hint}") from None
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08" or raw[3] != expect_dims:
        raise DataError(
            f"{path}: not an MNIST-format IDX file of unsigned bytes with {expect_dims} "
            f"dimension(s) (corrupt?); {hint}"
        )
    header = 4 + 4 * expect_dims
    dims = struct.unpack(f">{expect_dims}I", raw[4:header])
    count = math.prod(dims)
    if len(raw) != header + count:
        raise DataError(
            f"{path}: IDX header says {dims} ({count} bytes) but the file holds "
            f"{len(raw) - header} (truncated or corrupt); {hint}"
        )
    return np.frombuffer(raw, np.uint8, offset=header).reshape(dims)


def _find_idx(directory: Path, stem: str, hint: str) -> Path:
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if os.path.lexists(candidate):  # a FIFO or device is refused by name when read
            return candidate
    raise DataError(f"{directory / (stem + '.gz')}: no such file; {hint}")


def load_idx_dir(directory: str | os.PathLike[str] = FASHION_MNIST_DIR) -> Dataset:
    """MNIST-format IDX files from a folder (MNIST, Fashion-MNIST): 28 steps of 28 pixels."""
    directory = Path(directory)
    hint = _how_to_get(directory)
    arrays: dict[str, np.ndarray] = {}
    for key, stem in IDX_FILES.items():
        path = _find_idx(directory, stem, hint)
        arrays[key] = _read_idx(path, 3 if key.startswith("x") else 1, hint)
    for split in ("train", "test"):
        nx, ny = len(arrays[f"x_{split}"]), len(arrays[f"y_{split}"])
        if nx != ny:
            raise DataError(
                f"{directory}: {nx} {split} images but {ny} {split} labels (corrupt?); {hint}"
            )
    fashion = "fashion" in str(directory).lower()
    return _images_dataset(
        name="fashion-mnist" if fashion else "mnist-idx",
        source=str(directory),
        arrays=arrays,
        class_names=FASHION_CLASSES if fashion else (),
        ref=str(directory),
    )


def load_npz(path: str | os.PathLike[str]) -> Dataset:
    """Keras' `mnist.npz` (or any .npz with x_train, y_train, x_test, y_test of images)."""
    path = Path(path)
    hint = (
        "give the path of Keras' mnist.npz (x_train, y_train, x_test, y_test), or use --data digits"
    )
    if not os.path.lexists(path):
        raise DataError(f"{path}: no such file; {hint}")
    checked_data_file(path, hint)
    try:
        _check_npz_sizes(path, hint)
        with np.load(path, allow_pickle=False) as npz:
            missing = sorted(set(IDX_FILES) - set(npz.files))
            if missing:
                raise DataError(f"{path}: has no {', '.join(missing)} array; {hint}")
            arrays = {k: np.asarray(npz[k]) for k in IDX_FILES}
    except DataError:
        raise
    except Exception as exc:  # zipfile.BadZipFile, ValueError, OSError, pickle refusal ...
        raise DataError(f"{path}: not a readable .npz ({exc}); {hint}") from None
    for key in ("x_train", "x_test"):
        if arrays[key].ndim != 3:
            raise DataError(
                f"{path}: {key} has shape {arrays[key].shape}, expected [N, rows, cols]; {hint}"
            )
    return _images_dataset(
        name=path.stem, source=str(path), arrays=arrays, class_names=(), ref=str(path)
    )


def _check_npz_sizes(path: Path, hint: str) -> None:
    """An .npz is a zip: its declared sizes must fit the data limit before anything unpacks."""
    import zipfile

    with zipfile.ZipFile(path) as zf:
        total = sum(i.file_size for i in zf.infolist())
    if total > _max_data_bytes():
        raise DataError(
            f"{path}: unpacks to {total / 2**20:,.0f} MB, over the data limit "
            f"(RNNVIZ_MAX_DATA_MB); {hint}"
        )


MAX_CLASSES = 10_000


def _checked_arrays(source: str, arrays: dict[str, np.ndarray]) -> None:
    """Both splits non-empty, as many labels as images, labels whole numbers in [0, MAX_CLASSES)."""
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if len(x) == 0:
            raise DataError(f"{source}: the {split} split is empty; give data with samples in it")
        if y.ndim != 1 or len(y) != len(x):
            raise DataError(
                f"{source}: {len(x)} {split} images but labels of shape {y.shape}; "
                "give one label per image"
            )
        if x.dtype.kind not in "uif" or y.dtype.kind not in "ui":
            raise DataError(
                f"{source}: {split} arrays of types {x.dtype} / {y.dtype}; give numeric images "
                "and integer labels"
            )
        if y.min() < 0 or y.max() >= MAX_CLASSES:
            raise DataError(
                f"{source}: {split} labels range from {y.min()} to {y.max()}; labels must be "
                f"class numbers from 0 to {MAX_CLASSES - 1}"
            )


def _images_dataset(
    name: str, source: str, arrays: dict[str, np.ndarray], class_names: tuple[str, ...], ref: str
) -> Dataset:
    def scale(a: np.ndarray) -> np.ndarray:
        a = a.astype(np.float32)
        return a / 255.0 if a.max(initial=0) > 1.0 else a

    _checked_arrays(source, arrays)
    y_train = arrays["y_train"].astype(np.int64).reshape(-1)
    y_test = arrays["y_test"].astype(np.int64).reshape(-1)
    x_train = scale(arrays["x_train"])
    return Dataset(
        name=name,
        source=source,
        x_train=x_train,
        y_train=y_train,
        x_test=scale(arrays["x_test"]),
        y_test=y_test,
        num_classes=int(max(y_train.max(), y_test.max())) + 1,
        image_shape=(int(x_train.shape[1]), int(x_train.shape[2])),
        class_names=class_names,
        ref=ref,
    )


def synthetic(
    n_train: int = 2000,
    n_test: int = 500,
    steps: int = 12,
    features: int = 4,
    min_length: int = 3,
    seed: int = 0,
) -> Dataset:
    """A variable-length task: which feature channel carries a small constant lift over the
    sequence's valid steps. Noise hides it at any single step, so the model has to accumulate
    over time, and everything past a sequence's length is zero padding (the label must come from
    the last *valid* step, not the last one). Classes = features."""
    rng = np.random.default_rng(seed)

    def split(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        y = rng.integers(0, features, n)
        lengths = rng.integers(min_length, steps + 1, n).astype(np.int32)
        x = rng.uniform(0.0, 0.7, (n, steps, features)).astype(np.float32)
        x[np.arange(n), :, y] += 0.3
        x[np.arange(steps)[None, :] >= lengths[:, None]] = 0.0
        return x, y.astype(np.int64), lengths

    x_train, y_train, len_train = split(n_train)
    x_test, y_test, len_test = split(n_test)
    return Dataset(
        name="synthetic",
        source=f"synthetic (seed {seed}, {steps} steps of {features}, lengths {min_length}-{steps})",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        num_classes=features,
        lengths_train=len_train,
        lengths_test=len_test,
        ref="synthetic"
        if (n_train, n_test, steps, features, min_length, seed) == (2000, 500, 12, 4, 3, 0)
        else "",
    )


def load_data(name_or_path: str | os.PathLike[str] = "digits") -> Dataset:
    """`digits`, `fashion-mnist`, `synthetic`, an IDX folder or an `.npz` path."""
    text = str(name_or_path)
    if text == "digits":
        return load_digits()
    if text in ("fashion-mnist", "fashion"):
        return load_idx_dir(FASHION_MNIST_DIR)
    if text == "synthetic":
        return synthetic()
    path = Path(text).expanduser()
    try:
        is_dir = path.is_dir()
    except OSError:
        is_dir = False
    if is_dir:
        if not os.access(path, os.R_OK | os.X_OK):
            raise DataError(f"{path}: cannot read the folder (permission denied)")
        return load_idx_dir(path)
    if path.suffix == ".npz" or os.path.lexists(path):
        return load_npz(path)
    raise DataError(
        f"{text}: no such dataset or file; use --data digits, fashion-mnist (Debian "
        f"{FASHION_PACKAGE}), synthetic, an MNIST-format IDX folder or a Keras mnist.npz path"
    )


# ---- spec and data ----------------------------------------------------------------------------
def fit_spec(spec: Any, data: Dataset, *, adapt: bool = True) -> tuple[Any, list[str]]:
    """The spec made to fit the data, and a list of what changed ("time_steps 28 -> 8", ...).

    With `adapt=False` any mismatch raises `DataError` naming both shapes. Variable-length data
    turns `variable_length` on (the loss must read each sequence's last *valid* step); a static
    spec then also uses control flow v1, whose per-step conds keep the step tensors fetchable.
    """
    wanted: dict[str, Any] = {}
    if spec.time_steps != data.steps and (spec.is_static or spec.time_steps is not None):
        wanted["time_steps"] = data.steps
    if spec.input_size != data.features:
        wanted["input_size"] = data.features
    if spec.num_classes != data.num_classes:
        wanted["num_classes"] = data.num_classes
    if data.variable_length and not spec.variable_length:
        wanted["variable_length"] = True
        if spec.is_static and spec.control_flow != "v1":
            wanted["control_flow"] = "v1"
    if not wanted:
        return spec, []
    changes = [f"{k} {getattr(spec, k)} -> {v}" for k, v in wanted.items()]
    if not adapt:
        raise DataError(
            f"data {data.name} ({data.steps} steps of {data.features} features, "
            f"{data.num_classes} classes{', variable length' if data.variable_length else ''}) "
            f"does not fit model {spec.name!r} ({spec.time_steps} steps of {spec.input_size} "
            f"features, {spec.num_classes} classes): {'; '.join(changes)} needed"
        )
    return spec.replace(**wanted), changes


def to_model_major(spec: ModelSpec, x: np.ndarray) -> np.ndarray:
    """Datasets are batch-major [N, T, F]; a time-major graph takes [T, N, F]."""
    return np.transpose(x, (1, 0, 2)) if spec.time_major else x


__all__ = [
    "FASHION_MNIST_DIR",
    "Dataset",
    "fit_spec",
    "load_data",
    "load_digits",
    "load_idx_dir",
    "load_npz",
    "synthetic",
    "to_model_major",
]
