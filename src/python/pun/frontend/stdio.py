"""gRPC over the frontend's stdin/stdout.

BuildKit serves HTTP/2 on the pipes it gives the frontend as fd 0 (daemon -> us) and fd 1
(us -> daemon). grpcio can only dial addresses, so a private unix socket stands in for the
daemon: grpcio connects to it and two threads copy bytes between that one connection and the
pipes. The socket lives in a fresh 0700 directory and accepts exactly one connection, so no
other process can join and a broken stream is never silently re-dialled.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
from dataclasses import dataclass
from typing import Callable, List, Optional

_CHUNK = 64 * 1024
_ACCEPT_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class StdioFds:
    """The pipes to the daemon, moved off fd 0/1 (see `take_stdio`)."""

    read_fd: int
    write_fd: int


def take_stdio() -> StdioFds:
    """Move the daemon's pipes to private fds and make fd 0/1 harmless.

    Afterwards fd 0 is at end of file and fd 1 is a copy of stderr, so a stray print (ours or
    a library's) lands in the daemon's log instead of corrupting the HTTP/2 stream.
    """
    fds = StdioFds(read_fd=os.dup(0), write_fd=os.dup(1))
    # An empty pipe whose writer is gone, not /dev/null: the image may have no /dev.
    empty, writer = os.pipe()
    os.close(writer)
    os.dup2(empty, 0)
    os.close(empty)
    os.dup2(2, 1)
    return fds


class StdioRelay:
    """A one-connection unix socket relayed to a pair of fds; `target` is for grpcio."""

    def __init__(self, fds: StdioFds, log: Callable[[str], None] = lambda _m: None) -> None:
        self._fds = fds
        self._log = log
        self._dir = tempfile.mkdtemp(prefix="pun-frontend-")  # 0700: private to us
        self._path = os.path.join(self._dir, "bridge.sock")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self._path)
        self._listener.listen(1)
        self._conn: Optional[socket.socket] = None
        self._threads: List[threading.Thread] = []
        self._closed = threading.Event()

    @property
    def target(self) -> str:
        return "unix:" + self._path

    def start(self) -> None:
        self._spawn(self._accept_and_pump, "pun-stdio-accept")

    def close(self) -> None:
        self._closed.set()
        for sock in (self._conn, self._listener):
            if sock is not None:
                _shutdown(sock, socket.SHUT_RDWR)  # wakes a thread blocked in accept/recv
                sock.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        # Daemon threads: a blocked read on the daemon's pipe must not keep the process alive.
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_and_pump(self) -> None:
        self._listener.settimeout(_ACCEPT_TIMEOUT_S)
        try:
            conn, _ = self._listener.accept()
        except OSError as exc:
            if not self._closed.is_set():
                self._log(f"no gRPC connection to relay: {exc}")
            return
        finally:
            # One connection only: a second dial must fail, not start a second HTTP/2 session.
            self._listener.close()
            try:
                os.unlink(self._path)
            except OSError:
                pass
        conn.settimeout(None)
        self._conn = conn
        self._spawn(self._daemon_to_grpc, "pun-stdio-in")
        self._grpc_to_daemon()

    def _daemon_to_grpc(self) -> None:
        conn = self._conn
        assert conn is not None
        try:
            while True:
                data = os.read(self._fds.read_fd, _CHUNK)
                if not data:
                    break
                conn.sendall(data)
        except OSError as exc:
            if not self._closed.is_set():
                self._log(f"reading from the daemon failed: {exc}")
        finally:
            # The daemon hung up: let grpcio see the end of the stream.
            _shutdown(conn, socket.SHUT_WR)

    def _grpc_to_daemon(self) -> None:
        conn = self._conn
        assert conn is not None
        try:
            while True:
                data = conn.recv(_CHUNK)
                if not data:
                    break
                _write_all(self._fds.write_fd, data)
        except OSError as exc:
            if not self._closed.is_set():
                self._log(f"writing to the daemon failed: {exc}")
        finally:
            try:
                os.close(self._fds.write_fd)  # end of our stream, as closing stdout in Go
            except OSError:
                pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _shutdown(conn: socket.socket, how: int) -> None:
    try:
        conn.shutdown(how)
    except OSError:
        pass
