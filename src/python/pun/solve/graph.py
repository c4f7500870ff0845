"""Definition bytes -> the linear op chain the embedded solver can execute.

The embedded solver runs a subset of LLB: `docker-image://` and `local://` sources, FileOps whose
actions are copy/mkfile/mkdir, chained one after another. Everything else is refused here, before
any work starts, with the op digest and a pointer to the buildctl builder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple, Union

from pun.diagnostics import PunError, error
from pun.llb.definition import (
    IMAGE_SCHEME,
    LOCAL_SCHEME,
    NO_INPUT,
    Definition,
    FileAction,
    FileActionCopy,
    Op,
)
from pun.platform import Platform

# Source attrs that do not change what the source yields (identity or cache hints only).
# `local.followpaths` only narrows the transfer to the paths the copies read and the targets of
# their symlinks (fsutil FollowLinks), so every copy sees the same files without it.
_IGNORED_LOCAL_ATTRS = frozenset(
    {"local.unique", "local.session", "local.sharedkeyhint", "local.differ", "local.followpaths"}
)
_EXCLUDE_PATTERNS = "local.excludepatterns"
_IGNORED_IMAGE_ATTRS = frozenset({"image.recordtype", "image.resolvemode"})
_HINT = "build it with `--builder buildctl` (a real BuildKit runs any LLB)"


@dataclass(frozen=True)
class ImageSource:
    digest: str
    reference: str  # normalized, without the scheme
    platform: Optional[Platform]


@dataclass(frozen=True)
class LocalSource:
    digest: str
    name: str
    # `local.excludepatterns`: the .dockerignore patterns the context is sent without.
    exclude_patterns: Tuple[str, ...] = ()


@dataclass(frozen=True)
class FileStep:
    """One FileOp: its actions run in order; each copy reads from `copy_sources[i]` (the
    context, or another image for `COPY --from`)."""

    digest: str
    actions: Tuple[FileAction, ...]
    copy_sources: Tuple[Optional[Union[LocalSource, "ImageSource"]], ...]
    description: str


@dataclass(frozen=True)
class Chain:
    """base (None = scratch) followed by the FileOps that build on it, in order."""

    base: Optional[ImageSource]
    steps: Tuple[FileStep, ...]

    def copy_images(self) -> Tuple[ImageSource, ...]:
        """The images copies read from (`COPY --from`), each once, in first-use order."""
        seen: Dict[str, ImageSource] = {}
        for step in self.steps:
            for source in step.copy_sources:
                if isinstance(source, ImageSource):
                    seen.setdefault(source.digest, source)
        return tuple(seen.values())


Vertex = Union[ImageSource, LocalSource, FileStep]


def unsupported(digest: str, what: str) -> PunError:
    return error(f"op {digest}: {what} is outside what the embedded builder runs", hint=_HINT)


def decode_chain(definition: Union[bytes, Definition]) -> Chain:
    """Decode and validate; raise PunError naming the first op outside the subset."""
    decoded = _decoded(definition)
    terminal = decoded.terminal()
    if terminal is None:
        return Chain(base=None, steps=())
    if terminal.WhichOneof("op") is not None or len(terminal.inputs) != 1:
        raise error(
            "the LLB definition has no terminal op (an op with one input and no body)",
            hint="pass a complete Definition as `pun --LLB` writes it",
        )
    return _Decoder(decoded).chain(terminal.inputs[0].digest)


def base_source(definition: Union[bytes, Definition]) -> Optional[ImageSource]:
    """The base image of a Definition (None: scratch), also for LLB outside the embedded
    subset (the buildctl builder runs any), as long as it names at most one image."""
    decoded = _decoded(definition)
    try:
        return decode_chain(decoded).base
    except PunError:
        pass
    images = {}
    for digest, op in decoded.ops.items():
        identifier = op.source.identifier if op.WhichOneof("op") == "source" else ""
        if identifier.startswith(IMAGE_SCHEME):
            reference = identifier[len(IMAGE_SCHEME) :]
            images[reference] = ImageSource(digest, reference, _platform(op))
    if len(images) > 1:
        raise error(
            f"the LLB names {len(images)} images ({', '.join(sorted(images))}); pun writes "
            "one image over one base",
            hint="build it with buildctl directly",
        )
    return next(iter(images.values()), None)


def _decoded(definition: Union[bytes, Definition]) -> Definition:
    return definition if isinstance(definition, Definition) else Definition.from_bytes(definition)


def _platform(op: Op) -> Optional[Platform]:
    if not op.HasField("platform"):
        return None
    p = op.platform
    return Platform(os=p.OS, architecture=p.Architecture, variant=p.Variant)


class _Decoder:
    def __init__(self, definition: Definition) -> None:
        self._definition = definition

    def _op(self, digest: str) -> Op:
        op = self._definition.ops.get(digest)
        if op is None:
            raise error(
                f"op input {digest} is not in the definition",
                hint="the LLB is truncated or corrupt",
            )
        return op

    def chain(self, head: str) -> Chain:
        steps: List[FileStep] = []
        base: Optional[ImageSource] = None
        digest: Optional[str] = head
        seen = set()
        while digest is not None:
            if digest in seen:
                raise error(f"op {digest} depends on itself", hint="the LLB is corrupt")
            seen.add(digest)
            vertex = self._vertex(digest)
            if isinstance(vertex, FileStep):
                steps.append(vertex)
                digest = self._primary_input(digest)
            elif isinstance(vertex, ImageSource):
                base, digest = vertex, None
            else:
                raise unsupported(digest, "a local directory used as the image's root filesystem")
        steps.reverse()
        return Chain(base=base, steps=tuple(steps))

    def _vertex(self, digest: str) -> Vertex:
        op = self._op(digest)
        kind = op.WhichOneof("op")
        if kind == "source":
            return self._source(digest, op)
        if kind == "file":
            return self._file(digest, op)
        if kind is None:
            raise unsupported(digest, "an op with no body (a second terminal?)")
        raise unsupported(digest, f"a `{kind}` op")

    def _source(self, digest: str, op: Op) -> Union[ImageSource, LocalSource]:
        identifier = op.source.identifier
        attrs = dict(op.source.attrs)
        if identifier.startswith(IMAGE_SCHEME):
            extra = sorted(set(attrs) - _IGNORED_IMAGE_ATTRS)
            if extra:
                raise unsupported(digest, f"image source attributes {extra}")
            return ImageSource(digest, identifier[len(IMAGE_SCHEME) :], _platform(op))
        if identifier.startswith(LOCAL_SCHEME):
            extra = sorted(set(attrs) - _IGNORED_LOCAL_ATTRS - {_EXCLUDE_PATTERNS})
            if extra:
                raise unsupported(digest, f"local source attributes {extra} (include filters)")
            excludes = _string_list(attrs.get(_EXCLUDE_PATTERNS, "[]"))
            if excludes is None:
                raise unsupported(digest, f"{_EXCLUDE_PATTERNS} that is not a JSON string list")
            return LocalSource(digest, identifier[len(LOCAL_SCHEME) :], excludes)
        scheme = identifier.split("://", 1)[0] if "://" in identifier else identifier
        raise unsupported(digest, f"a `{scheme}` source")

    def _file(self, digest: str, op: Op) -> FileStep:
        inputs = [i.digest for i in op.inputs]
        actions = tuple(op.file.actions)
        if not actions:
            raise unsupported(digest, "a FileOp without actions")
        sources: List[Optional[Union[LocalSource, ImageSource]]] = []
        for index, action in enumerate(actions):
            kind = action.WhichOneof("action")
            if kind not in ("copy", "mkfile", "mkdir"):
                raise unsupported(digest, f"file action #{index} `{kind or 'unknown'}`")
            self._check_primary(digest, index, action.input, len(inputs))
            if kind == "copy":
                sources.append(self._copy_source(digest, index, action, inputs))
                _check_copy(digest, index, action.copy)
            else:
                if action.secondaryInput != NO_INPUT:
                    raise unsupported(digest, f"file action #{index} with a secondary input")
                sources.append(None)
        return FileStep(digest, actions, tuple(sources), self._definition.custom_name(digest))

    def _check_primary(self, digest: str, index: int, primary: int, n_inputs: int) -> None:
        # The first action reads the op's base (an input or scratch), later ones the previous
        # action's result.
        expected_later = n_inputs + index - 1
        if index == 0 and (primary == NO_INPUT or 0 <= primary < n_inputs):
            return
        if index > 0 and primary == expected_later:
            return
        raise unsupported(
            digest, f"file action #{index} reading input {primary} (not a linear chain)"
        )

    def _copy_source(
        self, digest: str, index: int, action: FileAction, inputs: List[str]
    ) -> Union[LocalSource, ImageSource]:
        secondary = action.secondaryInput
        if not 0 <= secondary < len(inputs):
            raise unsupported(digest, f"copy action #{index} from input {secondary}")
        source = self._vertex(inputs[secondary])
        if not isinstance(source, (LocalSource, ImageSource)):
            raise unsupported(digest, f"copy action #{index} from another build step")
        return source

    def _primary_input(self, digest: str) -> Optional[str]:
        op = self._definition.ops[digest]
        first = op.file.actions[0].input
        if first == NO_INPUT:
            return None
        return op.inputs[first].digest


def _string_list(text: str) -> Optional[Tuple[str, ...]]:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    return tuple(value)


def _check_copy(digest: str, index: int, copy: FileActionCopy) -> None:
    if copy.include_patterns or copy.exclude_patterns:
        raise unsupported(digest, f"copy action #{index} with include/exclude patterns")
