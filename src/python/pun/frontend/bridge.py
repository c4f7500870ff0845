"""Typed calls on BuildKit's LLBBridge (the gateway API), over an open gRPC channel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence, Tuple

import grpc

from pun.frontend.caps import FALLBACK_FRONTEND_CAPS, Capabilities
from pun.frontend.pb import gateway_pb2, gateway_pb2_grpc, status_pb2
from pun.llb.pb import ops_pb2
from pun.platform import Platform

# BuildKit's Go client waits this long for Ping before giving up on the daemon.
PING_TIMEOUT_S = 15.0
# containerd's default, which BuildKit uses for the bridge in both directions.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
WARNING_LEVEL = 1
CHANNEL_OPTIONS = (
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    # One stdio stream: never fall back to another connection or resolver.
    ("grpc.enable_retries", 0),
)


class BridgeError(Exception):
    """A bridge call failed; `details` is the daemon's own message."""

    def __init__(self, method: str, code: str, details: str) -> None:
        self.method = method
        self.code = code
        self.details = details
        super().__init__(f"{method}: {details or code}")


@dataclass(frozen=True)
class Pong:
    caps: Capabilities
    worker_platforms: Tuple[Platform, ...]


@dataclass(frozen=True)
class ImageConfig:
    digest: str
    config: bytes


@dataclass(frozen=True)
class DirEntry:
    """An fsutil Stat: `name` inside the directory read, `mode` a Go os.FileMode."""

    name: str
    mode: int
    size: int = 0
    linkname: str = ""
    devmajor: int = 0
    devminor: int = 0


@dataclass(frozen=True)
class BridgeWarning:
    short: str
    detail: Tuple[str, ...] = ()
    # Where it points: the op that read the file, the file itself and a 1-based line.
    digest: str = ""
    filename: str = ""
    data: bytes = b""
    line: Optional[int] = None


class Bridge:
    def __init__(self, channel: grpc.Channel) -> None:
        self._stub = gateway_pb2_grpc.LLBBridgeStub(channel)

    def _call(self, method: str, request: Any, timeout: Optional[float] = None) -> Any:
        try:
            return getattr(self._stub, method)(request, timeout=timeout)
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else None
            details = exc.details() if hasattr(exc, "details") else str(exc)
            raise BridgeError(method, code.name if code else "UNKNOWN", details or "") from None

    def ping(self) -> Pong:
        pong = self._call("Ping", gateway_pb2.PingRequest(), timeout=PING_TIMEOUT_S)
        frontend = frozenset(c.ID for c in pong.FrontendAPICaps if c.Enabled)
        llb = frozenset(c.ID for c in pong.LLBCaps if c.Enabled)
        platforms = tuple(
            Platform(os=p.OS, architecture=p.Architecture, variant=p.Variant)
            for worker in pong.Workers
            for p in worker.platforms
        )
        return Pong(Capabilities(frontend or FALLBACK_FRONTEND_CAPS, llb), platforms)

    def solve(self, definition: bytes, *, array_ref: bool) -> str:
        """Register a definition (lazily); returns the ref id of its result."""
        request = gateway_pb2.SolveRequest(
            Definition=ops_pb2.Definition.FromString(definition),
            allowResultReturn=True,
            allowResultArrayRef=array_ref,
        )
        response = self._call("Solve", request)
        result = response.result
        kind = result.WhichOneof("result")
        if kind == "ref":
            return str(result.ref.id)
        if kind == "refDeprecated":
            return str(result.refDeprecated)
        if response.ref:
            return str(response.ref)
        raise BridgeError("Solve", "INTERNAL", f"the daemon answered without a single ref ({kind})")

    def read_file(self, ref: str, path: str) -> bytes:
        response = self._call("ReadFile", gateway_pb2.ReadFileRequest(Ref=ref, FilePath=path))
        return bytes(response.Data)

    def read_file_range(self, ref: str, path: str, offset: int, length: int) -> bytes:
        """`length` bytes from `offset` (fewer at the end): large files come in pieces, each
        well under the message limit."""
        request = gateway_pb2.ReadFileRequest(
            Ref=ref, FilePath=path, Range=gateway_pb2.FileRange(Offset=offset, Length=length)
        )
        return bytes(self._call("ReadFile", request).Data)

    def read_dir(self, ref: str, path: str) -> Tuple[DirEntry, ...]:
        """One directory's entries (not recursive), as BuildKit's ReadDir lists them."""
        response = self._call("ReadDir", gateway_pb2.ReadDirRequest(Ref=ref, DirPath=path))
        return tuple(
            DirEntry(e.path, e.mode, e.size, e.linkname, e.devmajor, e.devminor)
            for e in response.entries
        )

    def resolve_image_config(self, ref: str, platform: Platform, log_name: str) -> ImageConfig:
        request = gateway_pb2.ResolveImageConfigRequest(
            Ref=ref,
            Platform=ops_pb2.Platform(
                OS=platform.os, Architecture=platform.architecture, Variant=platform.variant
            ),
            LogName=log_name,
        )
        response = self._call("ResolveImageConfig", request)
        return ImageConfig(digest=response.Digest, config=bytes(response.Config))

    def warn(self, warning: BridgeWarning) -> None:
        request = gateway_pb2.WarnRequest(
            digest=warning.digest,
            level=WARNING_LEVEL,
            short=warning.short.encode("utf-8"),
            detail=[d.encode("utf-8") for d in warning.detail],
        )
        if warning.filename:
            request.info.CopyFrom(
                ops_pb2.SourceInfo(
                    filename=warning.filename, data=warning.data, language="Dockerfile"
                )
            )
            if warning.line is not None:
                position = ops_pb2.Position(line=warning.line)
                request.ranges.append(ops_pb2.Range(start=position, end=position))
        self._call("Warn", request)

    def return_result(
        self,
        ref: str,
        metadata: Mapping[str, bytes],
        *,
        array_ref: bool,
        platform_refs: Sequence[Tuple[str, str]] = (),
    ) -> None:
        """One ref, or (`platform_refs`) one ref per platform id: the refs map."""
        result = gateway_pb2.Result(metadata=dict(metadata))
        if platform_refs and array_ref:
            for platform_id, platform_ref in platform_refs:
                result.refs.refs[platform_id].CopyFrom(gateway_pb2.Ref(id=platform_ref))
        elif platform_refs:
            for platform_id, platform_ref in platform_refs:
                result.refsDeprecated.refs[platform_id] = platform_ref
        elif array_ref:
            result.ref.CopyFrom(gateway_pb2.Ref(id=ref))
        else:
            result.refDeprecated = ref
        self._call("Return", gateway_pb2.ReturnRequest(result=result))

    def return_error(self, code: int, message: str, details: Sequence[Any] = ()) -> None:
        status = status_pb2.Status(code=code, message=message)
        status.details.extend(details)
        self._call("Return", gateway_pb2.ReturnRequest(error=status))
