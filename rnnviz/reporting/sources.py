"""Turn any supported source into a parsed GraphDef plus what the source itself says about it.

Sources: a `BuiltModel`, a `tf.Graph`, a `GraphDef`, or a path to a binary `.pb`, a text `.pbtxt`,
a `.meta` MetaGraphDef, a SavedModel directory (TF1, or TF2/Keras whose graph lives in the function
library) or a TensorBoard events file. Files are only *parsed*: nothing is imported into a session,
loaded as a SavedModel or run. Every bad input raises `InputFileError` with one line naming the file
and what to do. Not here: any analysis of the graph (see the sibling modules).

`load_slim` is the report's fast path for binary `.pb` files: a look-alike GraphDef message that
parses only each node's name, op and inputs and keeps the attributes as raw bytes (protobuf's
parsed attribute maps take about 3x the file's size; see `GraphIndex.of_slim`).
"""

from __future__ import annotations

import contextlib
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnviz.errors import InputFileError
from rnnviz.reporting.graph import GraphIndex, dtype_name

# Saved variables as the source declares them: (name, shape, dtype name, trainable).
VariableRecord = tuple[str, tuple[int, ...], str, bool]


@dataclass(frozen=True)
class SourceInfo:
    """What was loaded and what the container (not the GraphDef) tells about it."""

    kind: str  # built_model | tf_graph | graph_def | pb | pbtxt | meta | saved_model | events
    name: str  # file path, or a short label for in-memory sources
    graphdef_bytes: int
    saved_model_bytes: int | None = None  # whole SavedModel directory (saved_model.pb + variables)
    trainable: tuple[str, ...] | None = None  # trainable variable names when the source lists them
    saved_variables: tuple[VariableRecord, ...] = ()  # TF2 SavedModel object graph variables
    # Serving signatures of a SavedModel: (key, output tensor names). The analysis starts from
    # them: what they do not compute (gradient or restore functions) is not part of the model.
    signatures: tuple[tuple[str, tuple[str, ...]], ...] = ()


def load_graph_def(source: Any, *, check: bool = True) -> tuple[Any, SourceInfo]:
    """Parse `source` into `(GraphDef, SourceInfo)`; never runs or imports the graph.

    Accepts a `BuiltModel`, `tf.Graph`, `GraphDef`, `MetaGraphDef`, or a path (str / PathLike).
    Raises `InputFileError` for anything unreadable, including a graph with zero nodes.
    `check=False` skips the per-node sanity check (nameless or op-less nodes, which is what a
    parse of foreign bytes yields) for callers that index every node anyway and call
    `check_index` themselves: on a 230k-node graph the extra pass costs about half a second.
    """
    graph_def, info = _load(source)
    if len(graph_def.node) == 0 and not _has_function_nodes(graph_def):
        raise InputFileError(f"{info.name}: the graph has zero nodes; give a graph with ops in it")
    if check:
        _check_nodes(graph_def, info.name, "graph")
    return graph_def, info


def load_slim(source: Any) -> tuple[Any, SourceInfo] | None:
    """For a binary GraphDef file: a slim parse (attributes left as bytes) and its SourceInfo.

    None when the source is anything else or the slim parse finds a problem; the caller then
    takes `load_graph_def`, which gives the full parse and the proper error message.
    """
    if not isinstance(source, str | os.PathLike):
        return None
    path = Path(source)
    if path.suffix.lower() not in (".pb", ".graphdef") or path.name == "saved_model.pb":
        return None
    if not path.is_file():
        return None  # missing or not a regular file: load_graph_def says which, in one line
    data = read_graph_file(path)
    from rnnviz.reporting.protos import SlimGraphDef

    slim = SlimGraphDef()
    if not data or not _parse(slim, data):
        return None
    size = len(data)
    del data  # the parsed message is all that is kept: do not hold the file's bytes as well
    if len(slim.node) == 0:
        return None
    return slim, SourceInfo("pb", str(path), size)


def check_index(index: GraphIndex, source_name: str) -> None:
    """The per-node sanity check of `load_graph_def`, on an index the caller already built.

    Asked of the name index and the op-type set (one look-up each), not of the name and op
    lists (two scans of 230k items on the big unrolled graph); the lists only name the node."""
    if "" in index.index or "" in index.op_types:
        names, ops = index.names, index.ops
        i = names.index("") if "" in index.index else ops.index("")
        raise InputFileError(
            f"{source_name}: not a valid graph (node {i} has no name or op); "
            "the file is corrupt or of another kind"
        )


def _has_function_nodes(graph_def: Any) -> bool:
    return any(len(f.node_def) for f in graph_def.library.function)


def _load(source: Any) -> tuple[Any, SourceInfo]:
    if isinstance(source, str | os.PathLike):
        return _load_path(Path(source))
    kind = type(source).__name__
    if hasattr(source, "graph") and hasattr(source, "spec") and hasattr(source, "step_tensors"):
        graph = source.graph
        graph_def = source.graph_def()  # shared with the caller's copy, not serialised again
        return graph_def, SourceInfo(
            "built_model",
            f"<model {source.spec.name}>",
            graph_def.ByteSize(),
            trainable=_graph_trainables(graph),
        )
    if kind == "Graph" and hasattr(source, "as_graph_def"):
        graph_def = source.as_graph_def()
        return graph_def, SourceInfo(
            "tf_graph", "<tf.Graph>", graph_def.ByteSize(), trainable=_graph_trainables(source)
        )
    if kind == "GraphDef":
        return source, SourceInfo("graph_def", "<GraphDef>", source.ByteSize())
    if kind == "MetaGraphDef":
        return source.graph_def, SourceInfo(
            "meta",
            "<MetaGraphDef>",
            source.graph_def.ByteSize(),
            trainable=_meta_trainables(source),
        )
    raise InputFileError(
        f"<{kind}>: not a graph source; give a BuiltModel, tf.Graph, GraphDef or a graph file path"
    )


def _graph_trainables(graph: Any) -> tuple[str, ...]:
    from rnnviz.tfcompat import v1

    return tuple(v.op.name for v in graph.get_collection(v1.GraphKeys.TRAINABLE_VARIABLES))


def _meta_trainables(meta: Any) -> tuple[str, ...] | None:
    """Names listed in a MetaGraphDef's `trainable_variables` collection (None if absent)."""
    from rnnviz.reporting.protos import variable_pb2

    coll = meta.collection_def.get("trainable_variables") if meta.collection_def else None
    if coll is None:
        return None
    names = []
    for raw in coll.bytes_list.value:
        var = variable_pb2.VariableDef()
        try:
            var.ParseFromString(raw)
        except Exception:  # a damaged collection entry: ignore it, the graph still reports
            continue
        names.append(var.variable_name.split(":")[0])
    return tuple(names)


# ---- reading a file: regular files only, size capped, never blocking ---------------------------
_HEAD = 1 << 16  # bytes read first: enough to refuse a blank (all-zero) file before reading it all


def read_graph_file(path: Path) -> bytes:
    """The bytes of a graph file, or `InputFileError` in one line: a FIFO, device or socket is
    refused before it is opened for reading (a FIFO would block), a file over the size cap
    (`RNNVIZ_MAX_GRAPH_MB`) before it is read, and a file that starts with 64 kB of zero bytes
    (a blank or sparse file: no graph format starts so) after reading only those."""
    name = str(path)
    _check_regular(path, name)
    cap = _size_cap()
    try:
        # O_NONBLOCK: if the path was swapped for a FIFO since the check, open does not wait.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InputFileError(
            f"{name}: cannot be read ({exc.strerror}); check its permissions"
        ) from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise InputFileError(_not_regular(name, st.st_mode))
        _check_size(name, st.st_size, cap)
        head = fh.read(_HEAD)
        if len(head) == _HEAD and not head.strip(b"\0"):
            raise InputFileError(
                f"{name}: the file starts with {_HEAD // 1024} kB of zero bytes, which no graph "
                "format does; give a GraphDef, SavedModel or events file"
            )
        # Read what fstat saw, in one buffer (no head + rest copy; read(n) would allocate n even
        # for a shorter file); one byte more shows a file that grew past the cap meanwhile.
        fh.seek(0)
        data = fh.read(min(st.st_size, cap) + 1)
    _check_size(name, len(data), cap)
    return data


def _check_regular(path: Path, name: str) -> None:
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputFileError(f"{name}: no such file or directory; check the path") from None
    except OSError as exc:
        raise InputFileError(
            f"{name}: cannot be read ({exc.strerror}); check its permissions"
        ) from None
    if not stat.S_ISREG(mode):
        raise InputFileError(_not_regular(name, mode))


def _not_regular(name: str, mode: int) -> str:
    kinds = (
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a directory"),
    )
    kind = next((words for test, words in kinds if test(mode)), "not a regular file")
    return f"{name}: is {kind}, not a regular file; give a graph file"


def _size_cap() -> int:
    from rnnviz.settings import MB, settings

    return int(settings().max_graph_mb * MB)


def _check_size(name: str, size: int, cap: int) -> None:
    if size > cap:
        raise InputFileError(
            f"{name}: {size / (1 << 20):,.0f} MB is more than the {cap / (1 << 20):,.0f} MB a graph "
            "file may have (raise RNNVIZ_MAX_GRAPH_MB to read it)"
        )


def _too_deep(name: str) -> str:
    return (
        f"{name}: nested too deeply to parse (hundreds of levels; no TensorFlow graph is); "
        "the file is corrupt or not a graph"
    )


# ---- files -------------------------------------------------------------------------------------
def _load_path(path: Path) -> tuple[Any, SourceInfo]:
    name = str(path)
    if not path.exists():
        raise InputFileError(f"{name}: no such file or directory; check the path")
    if path.is_dir():
        return _load_saved_model(path)
    data = read_graph_file(path)
    if not data:
        raise InputFileError(
            f"{name}: the file is empty; give a GraphDef, SavedModel or events file"
        )
    suffix = path.suffix.lower()
    if "tfevents" in path.name:
        return _from_events(data, name)
    if path.name == "saved_model.pb":
        return _load_saved_model(path.parent)
    if suffix == ".pbtxt" or suffix == ".txt":
        return _from_text(data, name)
    if suffix == ".meta":
        return _from_meta_bytes(data, name)
    if suffix in (".pb", ".graphdef"):
        return _from_binary(data, name)
    # Unknown suffix: try each format, most specific first; the error lists what was tried.
    for loader in (_from_binary, _from_meta_bytes, _from_events, _from_text):
        try:
            return loader(data, name)
        except InputFileError:
            continue
    raise InputFileError(
        f"{name}: not a GraphDef (.pb/.pbtxt), MetaGraphDef (.meta) or events file; "
        "give one of those or a SavedModel directory"
    )


def _parse(message: Any, data: bytes) -> bool:
    from google.protobuf.message import DecodeError

    try:
        message.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError, UnicodeDecodeError):
        return False
    return True


def _check_nodes(graph_def: Any, name: str, what: str) -> None:
    """A parse that 'succeeds' on foreign bytes yields nameless or op-less nodes: reject them."""
    for i, node in enumerate(graph_def.node):
        if not node.name or not node.op:
            raise InputFileError(
                f"{name}: not a valid {what} (node {i} has no {'name' if not node.name else 'op'}); "
                "the file is corrupt or of another kind"
            )
    for func in graph_def.library.function:
        if not func.signature.name:
            raise InputFileError(f"{name}: not a valid {what} (a library function has no name)")


def _from_binary(data: bytes, name: str) -> tuple[Any, SourceInfo]:
    from rnnviz.reporting.protos import graph_pb2

    graph_def = graph_pb2.GraphDef()
    if not _parse(graph_def, data):
        raise InputFileError(
            f"{name}: not a binary GraphDef (truncated or corrupt protobuf); re-export it "
            "(rnnviz build MODEL --out FILE.pb) or give a .pbtxt / SavedModel"
        )
    first = graph_def.node[0] if len(graph_def.node) else None
    if first is not None and not (first.name and first.op):  # cheap: the full check comes later
        raise InputFileError(f"{name}: not a binary GraphDef (its first node has no name or op)")
    return graph_def, SourceInfo("pb", name, len(data))


def _from_text(data: bytes, name: str) -> tuple[Any, SourceInfo]:
    from google.protobuf import text_format

    from rnnviz.reporting.protos import graph_pb2

    graph_def = graph_pb2.GraphDef()
    try:
        text_format.Parse(data.decode("utf-8"), graph_def)
    except (text_format.ParseError, UnicodeDecodeError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputFileError(
            f"{name}: not a text GraphDef ({first}); fix or re-export it"
        ) from None
    except RecursionError:  # the pure-Python text parser recurses once per nesting level
        raise InputFileError(_too_deep(name)) from None
    return graph_def, SourceInfo("pbtxt", name, graph_def.ByteSize())


def _from_meta_bytes(data: bytes, name: str) -> tuple[Any, SourceInfo]:
    from rnnviz.reporting.protos import meta_graph_pb2

    meta = meta_graph_pb2.MetaGraphDef()
    if not _parse(meta, data) or not meta.HasField("graph_def"):
        raise InputFileError(
            f"{name}: not a MetaGraphDef (.meta) file; give the .meta written by tf.compat.v1.train.Saver"
        )
    return meta.graph_def, SourceInfo(
        "meta", name, meta.graph_def.ByteSize(), trainable=_meta_trainables(meta)
    )


def _dir_bytes(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            with contextlib.suppress(OSError):  # a file vanishing mid-walk is not an error
                total += (Path(root) / f).stat().st_size
    return total


def _load_saved_model(path: Path) -> tuple[Any, SourceInfo]:
    from google.protobuf import text_format

    from rnnviz.reporting.protos import SavedModel

    name = str(path)
    binary, text = path / "saved_model.pb", path / "saved_model.pbtxt"
    saved = SavedModel()
    if binary.is_file():
        if not _parse(saved, read_graph_file(binary)) or not saved.meta_graphs:
            raise InputFileError(
                f"{binary}: not a valid SavedModel protobuf (truncated or corrupt); re-export it"
            )
    elif text.is_file():
        try:
            text_format.Parse(read_graph_file(text).decode("utf-8"), saved)
        except (text_format.ParseError, UnicodeDecodeError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputFileError(f"{text}: not a valid text SavedModel ({first})") from None
        except RecursionError:
            raise InputFileError(_too_deep(str(text))) from None
    else:
        raise InputFileError(
            f"{name}: a directory without saved_model.pb; give a SavedModel directory or a graph file"
        )
    if not saved.meta_graphs:
        raise InputFileError(f"{name}: the SavedModel holds no MetaGraph; re-export it")
    meta = saved.meta_graphs[0]
    records = []
    for obj in meta.object_graph_def.nodes:  # TF2: variables are objects, not collection entries
        if obj.WhichOneof("kind") == "variable":
            var = obj.variable
            shape = tuple(max(int(d.size), 0) for d in var.shape.dim)
            records.append((var.name, shape, dtype_name(var.dtype), bool(var.trainable)))
    return meta.graph_def, SourceInfo(
        "saved_model",
        name,
        meta.graph_def.ByteSize(),
        saved_model_bytes=_dir_bytes(path),
        trainable=_meta_trainables(meta),
        saved_variables=tuple(records),
        signatures=_signatures(meta),
    )


def _signatures(meta: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Serving signatures, without the SavedModel's own init entry (`__saved_model_init_op`)."""
    return tuple(
        (key, tuple(t.name for _, t in sorted(sig.outputs.items())))
        for key, sig in sorted(meta.signature_def.items())
        if not key.startswith("__")
    )


def _from_events(data: bytes, name: str) -> tuple[Any, SourceInfo]:
    """Read TFRecord framing (u64 length, u32 crc, data, u32 crc) and take the last graph event."""
    from rnnviz.reporting.protos import event_pb2, graph_pb2, meta_graph_pb2

    pos, found = 0, None
    while pos + 12 <= len(data):
        (length,) = struct.unpack_from("<Q", data, pos)
        start, end = pos + 12, pos + 12 + length
        if end + 4 > len(data):
            break  # a truncated last record: keep what was read before it
        event = event_pb2.Event()
        if not _parse(event, data[start:end]):
            break
        if event.graph_def:
            found = ("graph", event.graph_def)
        elif event.meta_graph_def:
            found = ("meta", event.meta_graph_def)
        pos = end + 4
    if found is None:
        raise InputFileError(
            f"{name}: not an events file holding a graph; write one with "
            "tf.compat.v1.summary.FileWriter(logdir, graph=g) or rnnviz export"
        )
    if found[0] == "graph":
        graph_def = graph_pb2.GraphDef()
        if not _parse(graph_def, found[1]):
            raise InputFileError(f"{name}: the graph in this events file is corrupt")
        return graph_def, SourceInfo("events", name, len(found[1]))
    meta = meta_graph_pb2.MetaGraphDef()
    if not _parse(meta, found[1]):
        raise InputFileError(f"{name}: the MetaGraph in this events file is corrupt")
    return meta.graph_def, SourceInfo(
        "events", name, meta.graph_def.ByteSize(), trainable=_meta_trainables(meta)
    )


__all__ = ["SourceInfo", "VariableRecord", "check_index", "load_graph_def"]
