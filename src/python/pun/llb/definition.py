"""A Definition decoded once: the ops by digest, in the order the bytes hold them, and their
metadata. The one place outside pun.llb.pb that parses Definition bytes with protobuf, for the
readers (the embedded builder, the buildctl builder, `--dump`, the frontend); writing them is
pun.llb.marshal's own wire writer.

The protobuf message types are named here too (`Op`, `FileAction`, ...), so the readers speak
the LLB vocabulary of pun.llb and never import the generated module themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, FrozenSet, Mapping, Optional, Tuple

from pun.diagnostics import error
from pun.llb.marshal import CUSTOM_NAME, NO_INPUT, digest_of
from pun.llb.pb import ops_pb2
from pun.llb.state import IMAGE_SCHEME, LOCAL_SCHEME

__all__ = [
    "CUSTOM_NAME",
    "IMAGE_SCHEME",
    "LOCAL_SCHEME",
    "NO_INPUT",
    "Definition",
    "digest_of",
]

# The message types, for type hints and isinstance checks (BuildKit's solver/pb names).
Op = ops_pb2.Op
OpMetadata = ops_pb2.OpMetadata
FileAction = ops_pb2.FileAction
FileActionCopy = ops_pb2.FileActionCopy
FileActionMkFile = ops_pb2.FileActionMkFile
FileActionMkDir = ops_pb2.FileActionMkDir
UserOpt = ops_pb2.UserOpt


@dataclass(frozen=True)
class Definition:
    ops: Mapping[str, "ops_pb2.Op"]  # digest (sha256 of the op's bytes) -> op, in byte order
    op_bytes: Mapping[str, bytes]  # digest -> the op's bytes as written
    metadata: Mapping[str, "ops_pb2.OpMetadata"]
    # The files of the source map (pb.SourceInfo filenames): what BuildKit names in an error.
    source_filenames: Tuple[str, ...] = ()

    @classmethod
    def from_bytes(cls, data: bytes) -> "Definition":
        """Decode `pb.Definition` bytes; a PunError when they do not parse."""
        parsed = ops_pb2.Definition()
        try:
            parsed.ParseFromString(data)
            ops: Dict[str, "ops_pb2.Op"] = {}
            raw: Dict[str, bytes] = {}
            for op_bytes in getattr(parsed, "def"):
                digest = digest_of(bytes(op_bytes))
                ops[digest] = ops_pb2.Op.FromString(op_bytes)
                raw[digest] = bytes(op_bytes)
        except Exception as exc:  # protobuf raises DecodeError or others depending on backend
            raise error(
                f"the LLB definition does not parse: {exc}",
                hint="pass the bytes `pun --LLB` writes, unmodified",
            ) from None
        names = tuple(info.filename for info in parsed.Source.infos)
        return cls(ops, raw, dict(parsed.metadata), names)

    @property
    def digests(self) -> Tuple[str, ...]:
        return tuple(self.ops)

    def terminal(self) -> Optional["ops_pb2.Op"]:
        """The last op (the definition's terminal: one input, no body), None when empty."""
        return self.ops[self.digests[-1]] if self.ops else None

    def custom_name(self, digest: str) -> str:
        """The op's `llb.customname` (what progress shows), "" without one."""
        meta = self.metadata.get(digest)
        return meta.description.get(CUSTOM_NAME, "") if meta is not None else ""

    def caps(self) -> FrozenSet[str]:
        """The LLB capabilities the ops need (from their metadata)."""
        return frozenset(
            cap for meta in self.metadata.values() for cap, on in meta.caps.items() if on
        )
