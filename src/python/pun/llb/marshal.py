"""State -> pb.Definition bytes, as BuildKit's `State.Marshal` + `llb.WriteTo` write them.

Ops are visited post-order (inputs first), deduplicated by digest; a terminal op pointing at the
head closes the list. Every op gets OpMetadata with its capabilities and a source location
entry (empty unless MarshalOptions.source names the file). Op digests are sha256 of the exact
op bytes.

With `current_order`, ops are written as BuildKit v0.32's client writes them (Go protobuf's
deterministic marshaller: an Op's oneof body after its other fields). A daemon marshals every
op that way again before it digests it (pun.llb.daemon_digest), so only then are pun's digests
the daemon's vertex digests, the keys it looks a failed vertex up by in the source map
(solver/llbsolver/result.go, `wrapError`). BuildKit v0.16 (the original pun) wrote fields in
number order.
"""

from __future__ import annotations

from pun.gopath import clean_absolute
from pun.llb.state import (
    LOCAL_EXCLUDE_PATTERNS,
    LOCAL_FOLLOW_PATHS,
    LOCAL_INCLUDE_PATTERNS,
    Copy,
    FileVertex,
    Mkdir,
    Mkfile,
    Owner,
    SourceVertex,
    State,
    clean_source_path,
    normalize_dest,
)
from pun.llb.wire import Message
from pun.platform import Platform

try:  # CPython's builtin sha256 spares `pun --LLB` loading OpenSSL through hashlib (~3 ms)
    from _sha256 import sha256  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - 3.12+ names the module _sha2; other Pythons lack it
    from hashlib import sha256

from pun.records import Record

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import Callable, Dict, List, Optional, Set, Tuple, Union

    from pun.llb.state import Vertex

    DigestLookup = Callable[[Vertex], str]

# Field numbers of BuildKit's solver/pb (see src/protos/pun/llb/pb/ops.proto).
_OP_INPUTS, _OP_SOURCE, _OP_FILE, _OP_PLATFORM, _OP_CONSTRAINTS = 1, 3, 4, 10, 11
NO_INPUT = -1  # an action input that is no input (scratch), as in solver/pb
_NO_TIMESTAMP = -1
LOCAL_UNIQUE = "local.unique"
CUSTOM_NAME = "llb.customname"


class SourceFile(Record):
    """The file the ops came from, for the Definition's source map (pb.SourceInfo)."""

    # As the build names it (BuildKit's frontend: the Dockerfile's name in its local).
    filename: str
    data: bytes
    # (first line, last line) of the instructions that span several lines.
    line_ends: Tuple[Tuple[int, int], ...] = ()


# The source map's language: linguist's name, as BuildKit's dockerui gives a Dockerfile.
SOURCE_LANGUAGE = "Dockerfile"


class MarshalOptions(Record):
    # The `local.unique` value for local sources: one per Marshal, as in BuildKit.
    local_unique_id: str
    # Op field order of BuildKit v0.32's client (True) or v0.16's (False: the original pun).
    current_order: bool = False
    # The Containerfile, for the source map's SourceInfo and the ops' line ranges.
    source: Optional[SourceFile] = None


class MarshalledOp(Record):
    digest: str
    data: bytes
    caps: Tuple[str, ...]
    description: Tuple[Tuple[str, str], ...] = ()


def digest_of(data: bytes) -> str:
    return "sha256:" + sha256(data).hexdigest()


class Marshalled(Record):
    definition: bytes
    # (op digest, Containerfile line) for every op that came from a line, in op order.
    source_map: Tuple[Tuple[str, int], ...]


def marshal(state: State, options: MarshalOptions) -> bytes:
    """The whole Definition; an empty (scratch-only) state gives an empty Definition."""
    return marshal_with_sources(state, options).definition


def marshal_with_sources(state: State, options: MarshalOptions) -> Marshalled:
    """The Definition and its source map, like BuildKit's `llb.SourceMap` locations."""
    if state.vertex is None:
        return Marshalled(b"", ())
    lines: List[Tuple[str, int]] = []
    ops: List[MarshalledOp] = []
    emitted: Set[str] = set()
    by_vertex: Dict[int, MarshalledOp] = {}

    def visit(vertex: Vertex) -> MarshalledOp:
        done = by_vertex.get(id(vertex))
        if done is not None:
            return done
        for dependency in _dependencies(vertex):
            visit(dependency)
        op = _marshal_vertex(vertex, options, lambda v: by_vertex[id(v)].digest)
        by_vertex[id(vertex)] = op
        if op.digest not in emitted:
            emitted.add(op.digest)
            ops.append(op)
            if isinstance(vertex, FileVertex) and vertex.line is not None:
                lines.append((op.digest, vertex.line))
        return op

    head = visit(state.vertex)
    terminal_data = Message().message(_OP_INPUTS, _input(head.digest)).encode()
    terminal_caps = ["constraints", "platform"]
    if any(op.description for op in ops):
        terminal_caps.append("meta.description")
    terminal = MarshalledOp(digest_of(terminal_data), terminal_data, tuple(terminal_caps))
    source = _source(ops, lines, options.source)
    return Marshalled(_definition(ops, terminal, source), tuple(lines))


def _source(
    ops: List[MarshalledOp], lines: List[Tuple[str, int]], source: Optional[SourceFile]
) -> Message:
    """pb.Source: a Locations entry per op, as BuildKit's sourceMapCollector writes them; with
    the file, one Range per line of the op's instruction (parser.Node.Location's toRanges)."""
    located: Dict[str, Message] = {op.digest: Message() for op in ops}
    message = Message()
    if source is not None:
        ends = dict(source.line_ends)
        for digest, first in lines:
            location = Message()  # sourceIndex 0: the one SourceInfo
            for line in range(first, ends.get(first, first) + 1):
                position = Message().int64(1, line)
                location.message(2, Message().message(1, position).message(2, position))
            located[digest] = Message().message(1, location)
    message.message_map(1, located.items())
    if source is not None:
        info = Message().string(1, source.filename).raw(2, source.data)
        message.message(2, info.string(4, SOURCE_LANGUAGE))
    return message


def _definition(ops: List[MarshalledOp], terminal: MarshalledOp, source: Message) -> bytes:
    definition = Message()
    for op in [*ops, terminal]:
        definition.raw(1, op.data, keep_empty=True)
    metadata = []
    for op in [*ops, terminal]:
        meta = Message()
        meta.string_map(2, op.description)
        meta.bool_map(5, ((cap, True) for cap in op.caps))
        metadata.append((op.digest, meta))
    definition.message_map(2, metadata)
    definition.message(3, source)
    return definition.encode()


def _dependencies(vertex: Vertex) -> List[Vertex]:
    """Inputs in the order BuildKit's FileOp.Inputs() lists them (last action first)."""
    if isinstance(vertex, SourceVertex):
        return []
    found: List[Vertex] = []
    for action in reversed(vertex.actions):
        if vertex.base is not None and vertex.base not in found:
            found.append(vertex.base)
        if (
            isinstance(action, Copy)
            and action.source.vertex is not None
            and action.source.vertex not in found
        ):
            found.append(action.source.vertex)
    return found


def _marshal_vertex(vertex: Vertex, options: MarshalOptions, digest: DigestLookup) -> MarshalledOp:
    if isinstance(vertex, SourceVertex):
        return _marshal_source(vertex, options)
    return _marshal_file(vertex, options, digest)


def _description(custom_name: str) -> Tuple[Tuple[str, str], ...]:
    return ((CUSTOM_NAME, custom_name),) if custom_name else ()


_LOCAL_FILTER_CAPS = (
    (LOCAL_INCLUDE_PATTERNS, "source.local.includepatterns"),
    (LOCAL_FOLLOW_PATHS, "source.local.followpaths"),
    (LOCAL_EXCLUDE_PATTERNS, "source.local.excludepatterns"),
)


def _marshal_source(vertex: SourceVertex, options: MarshalOptions) -> MarshalledOp:
    attrs = dict(vertex.attrs)
    if vertex.is_local:
        caps = ["source.local"]
        # The order client/llb's Local adds them in (caps are a map; order is cosmetic).
        for attr, cap in _LOCAL_FILTER_CAPS:
            if attr in attrs:
                caps.append(cap)
        if "local.session" not in attrs:
            attrs.setdefault(LOCAL_UNIQUE, options.local_unique_id)
            caps.append("source.local.unique")
        platform: Optional[Platform] = None  # only image sources are platform-specific
    else:
        caps = ["source.image"]
        platform = vertex.platform
    source = Message().string(1, vertex.identifier).string_map(2, attrs.items())
    op = Message()
    if not options.current_order:
        op.message(_OP_SOURCE, source)
    if platform is not None:
        op.message(_OP_PLATFORM, _platform(platform))
    op.message(_OP_CONSTRAINTS, Message())
    if options.current_order:
        op.message(_OP_SOURCE, source)
    data = op.encode()
    return MarshalledOp(digest_of(data), data, tuple(caps), _description(vertex.custom_name))


def _marshal_file(
    vertex: FileVertex, options: MarshalOptions, digest: DigestLookup
) -> MarshalledOp:
    inputs: List[str] = []

    def add_input(v: Vertex) -> int:
        d = digest(v)
        if d not in inputs:
            inputs.append(d)
        return inputs.index(d)

    # First pass: collect inputs in BuildKit's order, remembering each action's indices.
    placed: List[Tuple[int, int]] = []  # (base index, secondary index); -1 = none
    for action in vertex.actions:
        base = add_input(vertex.base) if vertex.base is not None else NO_INPUT
        secondary = NO_INPUT
        if isinstance(action, Copy) and action.source.vertex is not None:
            secondary = add_input(action.source.vertex)
        placed.append((base, secondary))

    file_op = Message()
    last = len(vertex.actions) - 1
    for index, (action, (base, secondary)) in enumerate(zip(vertex.actions, placed)):
        # Later actions read the previous action's result, numbered after the op's inputs.
        primary = base if index == 0 else len(inputs) + index - 1
        entry = Message().int64(1, primary).int64(2, secondary).int64(3, 0 if index == last else -1)
        if isinstance(action, Copy):
            entry.message(4, _copy(action, base))
        elif isinstance(action, Mkfile):
            entry.message(5, _mkfile(action, base))
        else:
            entry.message(6, _mkdir(action, base))
        file_op.message(2, entry)

    op = Message()
    for d in inputs:
        op.message(_OP_INPUTS, _input(d))
    if not options.current_order:
        op.message(_OP_FILE, file_op)
    op.message(_OP_CONSTRAINTS, Message())
    if options.current_order:
        op.message(_OP_FILE, file_op)
    data = op.encode()
    return MarshalledOp(digest_of(data), data, ("file.base",), _description(vertex.custom_name))


def _input(digest: str) -> Message:
    return Message().string(1, digest)


def _platform(platform: Platform) -> Message:
    return (
        Message()
        .string(1, platform.architecture)
        .string(2, platform.os)
        .string(3, platform.variant)
    )


def _copy(action: Copy, base: int) -> Message:
    return (
        Message()
        .string(1, clean_source_path(action.src))
        .string(2, normalize_dest(action.dest))
        .message_if(3, _owner(action.owner, base))
        .int64(4, action.mode if action.mode is not None else -1)
        .flag(5, action.follow_symlinks)
        .flag(6, action.dir_copy_contents)
        .flag(7, action.attempt_unpack)
        .flag(8, action.create_dest_path)
        .flag(9, action.allow_wildcard)
        .flag(10, action.allow_empty_wildcard)
        .int64(11, _NO_TIMESTAMP)
    )


def _mkfile(action: Mkfile, base: int) -> Message:
    return (
        Message()
        .string(1, clean_absolute(action.path))
        .int64(2, action.mode & 0o777)
        .raw(3, action.data)
        .message_if(4, _owner(action.owner, base))
        .int64(5, _NO_TIMESTAMP)
    )


def _mkdir(action: Mkdir, base: int) -> Message:
    return (
        Message()
        .string(1, clean_absolute(action.path))
        .int64(2, action.mode & 0o777)
        .flag(3, action.make_parents)
        .message_if(4, _owner(action.owner, base))
        .int64(5, _NO_TIMESTAMP)
    )


def _owner(owner: Optional[Owner], base: int) -> Optional[Message]:
    if owner is None:
        return None
    chown = Message().message(1, _user(owner.user, base))
    if owner.group is not None:
        chown.message(2, _user(owner.group, base))
    return chown


def _user(user: Union[int, str], base: int) -> Message:
    if isinstance(user, str):
        return Message().message(1, Message().string(1, user).int64(2, base))
    # byID sits in a oneof, so it is written even when it is 0 (root).
    return Message().int_always(2, user)
