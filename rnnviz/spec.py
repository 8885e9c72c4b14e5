"""Model specs: what to build, as frozen plain data (no TensorFlow here).

A `ModelSpec` is a list of `LayerSpec`s plus how to run them (static/dynamic unroll, bidirectional,
time steps, ...). Specs are constructed in Python or loaded from TOML files (`sample_models/*.toml`);
every invalid value raises `SpecError` naming the field, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rnnviz.errors import SpecError

CellKind = Literal["basic_rnn", "basic_lstm", "lstm", "gru"]
CELL_KINDS: tuple[str, ...] = ("basic_rnn", "basic_lstm", "lstm", "gru")
LSTM_KINDS: tuple[str, ...] = ("basic_lstm", "lstm")
UNROLLS: tuple[str, ...] = ("static", "dynamic")
CONTROL_FLOWS: tuple[str, ...] = ("v1", "v2")

# The 14 models of the source experiments (sample_models/<name>.toml): 28 steps of 28, 10 classes.
SOURCE_VARIANTS: tuple[str, ...] = (
    "single_static_lstm",
    "single_dynamic_lstm",
    "single_static_gru",
    "single_dynamic_gru",
    "multi_static_lstm",
    "multi_dynamic_lstm",
    "multi_static_gru",
    "multi_dynamic_gru",
    "multi_static_mix",
    "multi_dynamic_mix",
    "bi_static_lstm",
    "bi_dynamic_lstm",
    "multi_bi_static_lstm",
    "multi_bi_dynamic_lstm",
)

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_models"


def sample_dir() -> Path:
    """Where the sample specs live: RNNVIZ_SAMPLES (read at each call) or `sample_models/`."""
    return Path(os.environ.get("RNNVIZ_SAMPLES", SAMPLE_DIR))


def _fail(field_name: str, value: Any, allowed: str) -> SpecError:
    text = repr(value)
    text = text if len(text) <= 60 else f"{text[:57]}..."
    return SpecError(f"invalid spec: {field_name} = {text}; {allowed}")


# Upper bounds: far above any model this tool is for, low enough that a typo cannot make TF
# allocate without end (units = 10**9) or crash (parallel_iterations = 2**63-1 dies on SIGFPE).
MAX_UNITS = 16_384
MAX_LAYERS = 64
MAX_TIME_STEPS = 100_000
MAX_INPUT_SIZE = 65_536
MAX_CLASSES = 100_000
MAX_PARALLEL_ITERATIONS = 65_536
MAX_SPEC_FILE_BYTES = 1 << 20
MAX_TEXT = 10_000  # characters of a name or description


def _check_int(name: str, value: Any, minimum: int = 1, maximum: int = MAX_UNITS) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise _fail(name, value, f"must be an integer from {minimum} to {maximum:,}")


def _check_number(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(name, value, "must be a finite number")


def _check_positive_float(name: str, value: Any) -> None:
    _check_number(name, value)
    if not value > 0:
        raise _fail(name, value, "must be a number > 0")


def _check_text(name: str, value: Any, *, empty: bool = True) -> None:
    if not isinstance(value, str) or (not empty and not value) or len(value) > MAX_TEXT:
        raise _fail(
            name,
            _short(value),
            f"must be a{'' if empty else ' non-empty'} string of at most {MAX_TEXT:,} characters",
        )


def _short(value: Any) -> Any:
    text = repr(value)
    return value if len(text) <= 60 else f"{text[:57]}..."


def _check_keep_prob(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise _fail(name, value, "a keep probability must be in (0, 1]")


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise _fail(name, value, "must be true or false")


@dataclass(frozen=True)
class LayerSpec:
    """One recurrent layer: the cell kind, its size and options, and its dropout."""

    cell: CellKind
    units: int
    use_peepholes: bool = False
    cell_clip: float | None = None
    num_proj: int | None = None
    proj_clip: float | None = None
    forget_bias: float = 1.0
    input_keep_prob: float = 1.0
    output_keep_prob: float = 1.0

    def validate(self, where: str = "layer") -> None:
        if self.cell not in CELL_KINDS:
            raise _fail(f"{where}.cell", self.cell, f"allowed: {', '.join(CELL_KINDS)}")
        _check_int(f"{where}.units", self.units)
        _check_bool(f"{where}.use_peepholes", self.use_peepholes)
        lstm_only = {
            "use_peepholes": self.use_peepholes,
            "cell_clip": self.cell_clip,
            "num_proj": self.num_proj,
            "proj_clip": self.proj_clip,
        }
        if self.cell != "lstm":
            for name, value in lstm_only.items():
                if value not in (None, False):
                    raise _fail(
                        f"{where}.{name}", value, f"only cell = 'lstm' has it, not '{self.cell}'"
                    )
        if self.cell not in LSTM_KINDS and self.forget_bias != 1.0:
            raise _fail(f"{where}.forget_bias", self.forget_bias, "only LSTM cells have it")
        _check_number(f"{where}.forget_bias", self.forget_bias)
        if self.cell_clip is not None:
            _check_positive_float(f"{where}.cell_clip", self.cell_clip)
        if self.num_proj is not None:
            _check_int(f"{where}.num_proj", self.num_proj)
        if self.proj_clip is not None:
            _check_positive_float(f"{where}.proj_clip", self.proj_clip)
            if self.num_proj is None:
                raise _fail(f"{where}.proj_clip", self.proj_clip, "needs num_proj to be set")
        _check_keep_prob(f"{where}.input_keep_prob", self.input_keep_prob)
        _check_keep_prob(f"{where}.output_keep_prob", self.output_keep_prob)

    @property
    def is_lstm(self) -> bool:
        return self.cell in LSTM_KINDS

    @property
    def output_size(self) -> int:
        """Width of the layer's per-step output h (the projection size when num_proj is set)."""
        return self.num_proj if self.num_proj else self.units

    @property
    def has_dropout(self) -> bool:
        return self.input_keep_prob < 1.0 or self.output_keep_prob < 1.0


@dataclass(frozen=True)
class ModelSpec:
    """A whole model: recurrent layers, how they are unrolled, the input and the classifier head."""

    name: str
    layers: tuple[LayerSpec, ...]
    unroll: Literal["static", "dynamic"] = "static"
    bidirectional: bool = False
    time_steps: int | None = 28
    input_size: int = 28
    num_classes: int = 10
    time_major: bool = False
    variable_length: bool = False
    control_flow: Literal["v1", "v2"] = "v2"
    swap_memory: bool = False
    parallel_iterations: int = 32
    # Adam's rate; None (a TOML file without the line): the training data's recipe decides
    # (rnnviz.recipes). A value here is used as given, whatever the data.
    learning_rate: float | None = None
    description: str = ""
    # Not a field of the graph: where the spec came from, for messages.
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        self.validate()

    def validate(self) -> None:
        _check_text("name", self.name, empty=False)
        _check_text("description", self.description)
        if not 1 <= len(self.layers) <= MAX_LAYERS:
            shown = list(self.layers) if not self.layers else f"{len(self.layers)} tables"
            raise _fail("layers", shown, f"a spec needs 1 to {MAX_LAYERS} [[layers]] tables")
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, LayerSpec):
                raise _fail(f"layers[{i}]", layer, "must be a LayerSpec")
            layer.validate(f"layers[{i}]")
        if self.unroll not in UNROLLS:
            raise _fail("unroll", self.unroll, "allowed: static, dynamic")
        for flag in ("bidirectional", "time_major", "variable_length", "swap_memory"):
            _check_bool(flag, getattr(self, flag))
        if self.time_steps is None:
            if self.unroll == "static":
                raise _fail(
                    "time_steps",
                    None,
                    "a static (unrolled) graph needs a fixed number of time steps",
                )
        else:
            _check_int("time_steps", self.time_steps, maximum=MAX_TIME_STEPS)
        _check_int("input_size", self.input_size, maximum=MAX_INPUT_SIZE)
        _check_int("num_classes", self.num_classes, minimum=2, maximum=MAX_CLASSES)
        if self.control_flow not in CONTROL_FLOWS:
            raise _fail("control_flow", self.control_flow, "allowed: v1, v2")
        _check_int("parallel_iterations", self.parallel_iterations, maximum=MAX_PARALLEL_ITERATIONS)
        if self.learning_rate is not None:
            _check_positive_float("learning_rate", self.learning_rate)

    # ---- derived views -------------------------------------------------------------------
    @property
    def is_static(self) -> bool:
        return self.unroll == "static"

    @property
    def directions(self) -> tuple[str, ...]:
        return ("fw", "bw") if self.bidirectional else ("fw",)

    @property
    def has_dropout(self) -> bool:
        return any(layer.has_dropout for layer in self.layers)

    def replace(self, **changes: Any) -> ModelSpec:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def with_steps(self, time_steps: int) -> ModelSpec:
        return self.replace(time_steps=time_steps)

    def twin(self, unroll: str) -> ModelSpec:
        """The same model unrolled the other way (static <-> dynamic)."""
        return self.replace(unroll=unroll, name=_twin_name(self.name, unroll))

    # ---- plain data ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("source")
        data["layers"] = [
            {k: v for k, v in dataclasses.asdict(layer).items() if v != _LAYER_DEFAULTS[k]}
            | {"cell": layer.cell, "units": layer.units}
            for layer in self.layers
        ]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "") -> ModelSpec:
        if not isinstance(data, Mapping):
            raise _fail("spec", data, "must be a table of fields")
        known = {f.name for f in dataclasses.fields(cls)} - {"source"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise _fail(
                unknown[0], data[unknown[0]], f"unknown field; known: {', '.join(sorted(known))}"
            )
        if "name" not in data:
            raise _fail("name", None, "every spec needs a name")
        layers_raw = data.get("layers")
        if not isinstance(layers_raw, list | tuple):
            raise _fail("layers", layers_raw, "must be a list of layer tables ([[layers]] in TOML)")
        layer_fields = {f.name for f in dataclasses.fields(LayerSpec)}
        layers = []
        for i, raw in enumerate(layers_raw):
            if not isinstance(raw, Mapping):
                raise _fail(f"layers[{i}]", raw, "must be a table with at least cell and units")
            bad = sorted(set(raw) - layer_fields)
            if bad:
                raise _fail(
                    f"layers[{i}].{bad[0]}",
                    raw[bad[0]],
                    f"unknown layer field; known: {', '.join(sorted(layer_fields))}",
                )
            for required in ("cell", "units"):
                if required not in raw:
                    raise _fail(f"layers[{i}].{required}", None, "is required")
            layers.append(LayerSpec(**raw))
        fields = {k: v for k, v in data.items() if k != "layers"}
        try:
            return cls(layers=tuple(layers), source=source, **fields)
        except SpecError as exc:
            if source:
                raise SpecError(f"{source}: {exc}") from None
            raise


_LAYER_DEFAULTS = {f.name: f.default for f in dataclasses.fields(LayerSpec)}


def _twin_name(name: str, unroll: str) -> str:
    other = "dynamic" if unroll == "static" else "static"
    return name.replace(other, unroll) if other in name else f"{name}_{unroll}"


def load_spec_file(path: str | os.PathLike[str]) -> ModelSpec:
    """Load a spec from a TOML file; errors name the file."""
    path = Path(path)
    data = _read_toml(path)
    data.setdefault("name", path.stem)
    try:
        return ModelSpec.from_dict(data, source=str(path))
    except TypeError as exc:  # e.g. a value of the wrong type reaching the dataclass
        raise SpecError(f"{path}: invalid spec ({exc})") from None


def _read_toml(path: Path) -> Any:
    """The TOML table of a spec file, after checking it is a small regular readable file."""
    try:
        st = path.stat()
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise SpecError(
                f"{path}: no such spec file; give a sample name (rnnviz list) or a .toml path"
            ) from None
        raise SpecError(f"{path}: cannot read the spec file ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise SpecError(f"{path}: not a regular file; give a spec .toml file")
    if st.st_size > MAX_SPEC_FILE_BYTES:
        raise SpecError(
            f"{path}: {st.st_size:,} bytes is too big for a spec (at most {MAX_SPEC_FILE_BYTES:,})"
        )
    try:
        with open(path, "rb") as fh:  # read at most the cap: the file may grow meanwhile
            raw = fh.read(MAX_SPEC_FILE_BYTES + 1)
        if len(raw) > MAX_SPEC_FILE_BYTES:
            raise SpecError(f"{path}: too big for a spec (at most {MAX_SPEC_FILE_BYTES:,} bytes)")
        data = tomllib.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the spec file ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: not a valid TOML spec ({exc}); fix the file's syntax") from None
    except RecursionError:
        raise SpecError(f"{path}: nested too deeply to be a spec; fix the file") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}: not a TOML table")
    return data


def sample_names() -> list[str]:
    """Names of the sample models shipped in `sample_models/`, sorted."""
    return sorted(p.stem for p in sample_dir().glob("*.toml"))


def load_sample(name: str) -> ModelSpec:
    """A sample model by name only (never a path): what a server accepts from a browser."""
    if not isinstance(name, str) or name not in sample_names():
        raise SpecError(
            f"unknown model {str(name)[:60]!r}: not a sample model; 'rnnviz list' shows them"
        )
    return load_spec_file(sample_dir() / f"{name}.toml")


def load_spec(name_or_path: str | os.PathLike[str]) -> ModelSpec:
    """A sample model by name, or a spec file by path."""
    text = str(name_or_path)
    candidate = sample_dir() / f"{text}.toml"
    if candidate.is_file():
        return load_spec_file(candidate)
    path = Path(text)
    if path.suffix == ".toml" or os.path.lexists(path):
        return load_spec_file(path)
    raise SpecError(
        f"unknown model {text!r}: not a sample model and not a file; run 'rnnviz list' for the samples"
    )


__all__ = [
    "CELL_KINDS",
    "SOURCE_VARIANTS",
    "LayerSpec",
    "ModelSpec",
    "load_sample",
    "load_spec",
    "load_spec_file",
    "sample_names",
]
