"""A stand-in BuildKit daemon for frontend tests: an LLBBridge gRPC server that records every
call and serves a `pun` process over that process's own stdin/stdout.

It implements just enough of the daemon's side to drive a frontend: Ping with chosen caps,
lazy Solve (remembers definitions, hands out ref ids), ReadFile (with its byte range) and ReadDir
from local source ops (honouring the include pattern and follow paths, as the daemon's FileSync
would; other filters are not applied) and from image source ops (a directory per image),
ResolveImageConfig from a table, Warn and Return; and, for tests of a faulty daemon, ReadFile
answers with bytes added or cut (`read_skew`). It runs no ops: a FileOp's ref reads its first
source. The real daemon (Docker Engine) is exercised by the end-to-end tests.
"""

from __future__ import annotations

import fnmatch
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, NoReturn, Optional, Sequence, Tuple

import grpc

import pun.cli.main
from pun.frontend.pb import caps_pb2, gateway_pb2, gateway_pb2_grpc, worker_pb2
from pun.llb.pb import ops_pb2

# What Docker Engine 20.10's BuildKit announces that matters to pun (it has no Warn).
DOCKER_20_10_CAPS = (
    "solve.base",
    "solve.inlinereturn",
    "resolveimage",
    "readfile",
    "readdir",
    "return",
    "returnmap",
    "proto.refarray",
    "frontend.inputs",
)
ALL_LLB_CAPS = (
    "source.image",
    "source.local",
    "source.local.unique",
    "source.local.includepatterns",
    "source.local.followpaths",
    "source.local.excludepatterns",
    "file.base",
    "constraints",
    "platform",
    "meta.description",
)
_RUN_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Call:
    method: str
    request: Any


@dataclass
class FakeDaemon:
    """The daemon's state; tests set it up, run a frontend, then read `calls`."""

    locals: Dict[str, Path] = field(default_factory=dict)
    images: Dict[str, bytes] = field(default_factory=dict)  # normalized ref -> config JSON
    image_files: Dict[str, Path] = field(default_factory=dict)  # normalized ref -> its files
    # ReadFile path -> bytes added to (or, negative, cut from) every answer: a faulty daemon.
    read_skew: Dict[str, int] = field(default_factory=dict)
    frontend_caps: Sequence[str] = DOCKER_20_10_CAPS
    llb_caps: Sequence[str] = ALL_LLB_CAPS
    platforms: Sequence[Tuple[str, str]] = (("linux", "amd64"), ("linux", "386"))
    calls: List[Call] = field(default_factory=list)
    _definitions: Dict[str, ops_pb2.Definition] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, method: str, request: Any) -> None:
        with self._lock:
            self.calls.append(Call(method, request))

    def methods(self) -> List[str]:
        return [call.method for call in self.calls]

    def requests(self, method: str) -> List[Any]:
        return [call.request for call in self.calls if call.method == method]

    def definition(self, ref: str) -> ops_pb2.Definition:
        return self._definitions[ref]

    def add_definition(self, definition: ops_pb2.Definition) -> str:
        with self._lock:
            ref = f"ref-{len(self._definitions) + 1}"
            self._definitions[ref] = definition
            return ref


def _source(definition: ops_pb2.Definition) -> Optional[ops_pb2.SourceOp]:
    """The definition's first local source, else its first source."""
    found = [
        op.source
        for op in map(ops_pb2.Op.FromString, getattr(definition, "def"))
        if op.WhichOneof("op") == "source"
    ]
    local = [source for source in found if source.identifier.startswith("local://")]
    return (local or found or [None])[0]


def _root(daemon: FakeDaemon, ref: str) -> Tuple[Optional[Path], Optional[ops_pb2.SourceOp]]:
    """The directory a ref's source reads (a local or an image), and its source op."""
    source = _source(daemon.definition(ref))
    if source is None:
        return None, None
    kind, _, name = source.identifier.partition("://")
    if kind == "local":
        return daemon.locals.get(name), source
    if kind == "docker-image":
        return daemon.image_files.get(name), source
    return None, source


def _abort(context: Any, code: grpc.StatusCode, message: str) -> NoReturn:
    context.abort(code, message)  # raises; the line below only tells the type checker
    raise AssertionError("unreachable")


class _Servicer(gateway_pb2_grpc.LLBBridgeServicer):
    def __init__(self, daemon: FakeDaemon) -> None:
        self.daemon = daemon

    def Ping(self, request: Any, context: Any) -> Any:  # noqa: N802 (gRPC method names)
        self.daemon.record("Ping", request)
        caps = [caps_pb2.APICap(ID=c, Enabled=True) for c in self.daemon.frontend_caps]
        llb = [caps_pb2.APICap(ID=c, Enabled=True) for c in self.daemon.llb_caps]
        worker = worker_pb2.WorkerRecord(
            ID="fake",
            platforms=[ops_pb2.Platform(OS=o, Architecture=a) for o, a in self.daemon.platforms],
        )
        return gateway_pb2.PongResponse(FrontendAPICaps=caps, LLBCaps=llb, Workers=[worker])

    def Solve(self, request: Any, context: Any) -> Any:  # noqa: N802
        self.daemon.record("Solve", request)
        ref = self.daemon.add_definition(request.Definition)
        if request.allowResultArrayRef:
            return gateway_pb2.SolveResponse(result=gateway_pb2.Result(ref=gateway_pb2.Ref(id=ref)))
        return gateway_pb2.SolveResponse(result=gateway_pb2.Result(refDeprecated=ref))

    def ReadFile(self, request: Any, context: Any) -> Any:  # noqa: N802
        self.daemon.record("ReadFile", request)
        root, source = _root(self.daemon, request.Ref)
        if root is None or source is None:
            _abort(context, grpc.StatusCode.NOT_FOUND, "no directory for this ref here")
        patterns = json.loads(source.attrs.get("local.includepattern", "[]"))
        if patterns and not any(fnmatch.fnmatch(request.FilePath, p) for p in patterns):
            _abort(context, grpc.StatusCode.NOT_FOUND, f"{request.FilePath}: not transferred")
        path = root / request.FilePath
        if not path.is_file():
            _abort(
                context,
                grpc.StatusCode.NOT_FOUND,
                f"open {request.FilePath}: no such file or directory",
            )
        data = path.read_bytes()
        if request.HasField("Range"):
            start = request.Range.Offset
            data = data[start : start + request.Range.Length]
        skew = self.daemon.read_skew.get(request.FilePath, 0)
        data = data[:skew] if skew < 0 else data + b"x" * skew
        return gateway_pb2.ReadFileResponse(Data=data)

    def ReadDir(self, request: Any, context: Any) -> Any:  # noqa: N802
        """Entries as fsutil's Stat: Go os.FileMode bits (1<<31 directory, 1<<27 symlink,
        1<<25 named pipe)."""
        self.daemon.record("ReadDir", request)
        if "readdir" not in self.daemon.frontend_caps:
            _abort(context, grpc.StatusCode.UNIMPLEMENTED, "unknown method ReadDir")
        root, source = _root(self.daemon, request.Ref)
        if root is None or source is None:
            _abort(context, grpc.StatusCode.NOT_FOUND, "no directory for this ref here")
        follow = json.loads(source.attrs.get("local.followpaths", "[]"))
        entries = []
        for child in sorted((root / request.DirPath.lstrip("/")).iterdir()):
            rel = str(child.relative_to(root))
            if follow and not any(
                rel == f or rel.startswith(f + "/") or f.startswith(rel + "/") for f in follow
            ):
                continue  # not transferred
            st = child.lstat()
            mode = st.st_mode & 0o777
            if child.is_symlink():
                mode |= 1 << 27
            elif child.is_dir():
                mode |= 1 << 31
            elif child.is_fifo():
                mode |= 1 << 25
            entries.append(
                gateway_pb2.Stat(
                    path=child.name,
                    mode=mode,
                    size=st.st_size,
                    linkname=os.readlink(child) if child.is_symlink() else "",
                )
            )
        return gateway_pb2.ReadDirResponse(entries=entries)

    def ResolveImageConfig(self, request: Any, context: Any) -> Any:  # noqa: N802
        self.daemon.record("ResolveImageConfig", request)
        config = self.daemon.images.get(request.Ref)
        if config is None:
            _abort(context, grpc.StatusCode.NOT_FOUND, f"{request.Ref}: not found")
        return gateway_pb2.ResolveImageConfigResponse(Digest="sha256:" + "0" * 64, Config=config)

    def Warn(self, request: Any, context: Any) -> Any:  # noqa: N802
        self.daemon.record("Warn", request)
        if "gateway.warnings" not in self.daemon.frontend_caps:
            _abort(context, grpc.StatusCode.UNIMPLEMENTED, "unknown method Warn")
        return gateway_pb2.WarnResponse()

    def Return(self, request: Any, context: Any) -> Any:  # noqa: N802
        self.daemon.record("Return", request)
        return gateway_pb2.ReturnResponse()


@dataclass(frozen=True)
class FrontendRun:
    returncode: int
    stderr: str

    @property
    def log(self) -> str:
        return self.stderr


def frontend_env(opts: Mapping[str, str], extra: Mapping[str, str] = {}) -> Dict[str, str]:
    """The environment BuildKit gives a frontend (options numbered as the daemon does)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUILDKIT_")}
    for index, (key, value) in enumerate(sorted(opts.items())):
        env[f"BUILDKIT_FRONTEND_OPT_{index}"] = f"{key}={value}"
    # The child sees what this interpreter sees (a plain venv, or the Pants test sandbox).
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env["BUILDKIT_SESSION_ID"] = "fake-session"
    env["BUILDKIT_EXPORTEDPRODUCT"] = "buildkit"
    env.update(extra)
    return env


def pun_command() -> List[str]:
    """`pun` from source, or the frozen executable in $PUN_FRONTEND_EXECUTABLE (//:pun-frontend)."""
    frozen = os.environ.get("PUN_FRONTEND_EXECUTABLE")
    if frozen:
        return [frozen]
    # Imported above so that the frontend's modules are in the (Pants) test sandbox.
    script = f"import sys; from {pun.cli.main.__name__} import main; sys.exit(main())"
    return [sys.executable, "-c", script]


def run_frontend(
    daemon: FakeDaemon, env: Mapping[str, str], command: Optional[Sequence[str]] = None
) -> FrontendRun:
    """Start the frontend as a process whose stdin/stdout are the daemon's HTTP/2 server side."""
    # Fork before this process has a live gRPC connection: grpcio's fork handlers in the child
    # can shut down sockets the parent still uses (they share the open files).
    process = subprocess.Popen(
        list(command or pun_command()),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env),
    )
    with tempfile.TemporaryDirectory(prefix="fake-buildkitd-") as tmp:
        address = os.path.join(tmp, "bridge.sock")
        # BuildKit v0.32.2's limits (frontend/gateway/gateway.go: containerd's 16 MiB).
        limit = 16 * 1024 * 1024
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=4),
            options=[
                ("grpc.max_receive_message_length", limit),
                ("grpc.max_send_message_length", limit),
            ],
        )
        gateway_pb2_grpc.add_LLBBridgeServicer_to_server(_Servicer(daemon), server)
        server.add_insecure_port("unix:" + address)
        server.start()
        try:
            return _serve_process(address, process)
        finally:
            server.stop(grace=None)


def _serve_process(address: str, process: "subprocess.Popen[bytes]") -> FrontendRun:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(address)
    assert process.stdin is not None and process.stdout is not None
    stdin, stdout = process.stdin, process.stdout

    def frontend_to_server() -> None:
        # Everything the frontend writes to stdout must be HTTP/2 for the server to accept it.
        while True:
            data = os.read(stdout.fileno(), 65536)
            if not data:
                break
            conn.sendall(data)
        try:
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def server_to_frontend() -> None:
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                stdin.write(data)
                stdin.flush()
        except (OSError, ValueError):
            pass  # the frontend exited
        finally:
            try:
                stdin.close()
            except OSError:
                pass

    errors: List[bytes] = []
    stderr = process.stderr
    assert stderr is not None
    threads = [
        threading.Thread(target=frontend_to_server, daemon=True),
        threading.Thread(target=server_to_frontend, daemon=True),
        threading.Thread(target=lambda: errors.append(stderr.read()), daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        process.wait(timeout=_RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError("the frontend did not finish in time")
    finally:
        for thread in threads:
            thread.join(timeout=5)
        conn.close()
    return FrontendRun(process.returncode, b"".join(errors).decode("utf-8", errors="replace"))
