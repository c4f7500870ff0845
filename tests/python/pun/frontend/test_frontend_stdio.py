"""The stdio plumbing: stdout hygiene, the one-connection relay, and the CLI's mode switch."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict

import pytest

import pun.cli.main
from pun.frontend.stdio import StdioFds, StdioRelay
from pun_testing.shared import CASES


def child_env(**extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUILDKIT_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env.update(extra)
    return env


def python(code: str, env: Dict[str, str]) -> "subprocess.CompletedProcess[bytes]":
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def test_take_stdio_sends_stray_prints_to_stderr() -> None:
    code = (
        "import os, sys\n"
        "from pun.frontend.stdio import take_stdio\n"
        "fds = take_stdio()\n"
        "print('stray print'); sys.stdout.flush()\n"
        "os.write(1, b'stray write\\n')\n"
        "assert sys.stdin.read() == ''\n"  # fd 0 is at end of file now
        "os.write(fds.write_fd, b'h2 bytes only')\n"
    )
    done = python(code, child_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"h2 bytes only"
    assert b"stray print\n" in done.stderr and b"stray write\n" in done.stderr


def recv_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    deadline = time.monotonic() + 10
    while len(data) < size and time.monotonic() < deadline:
        chunk = conn.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def read_exactly(fd: int, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def test_relay_copies_both_ways_and_accepts_one_connection() -> None:
    daemon_to_us_r, daemon_to_us_w = os.pipe()  # the daemon writes, the frontend reads
    us_to_daemon_r, us_to_daemon_w = os.pipe()
    relay = StdioRelay(StdioFds(read_fd=daemon_to_us_r, write_fd=us_to_daemon_w))
    relay.start()
    path = relay.target[len("unix:") :]
    assert relay.target.startswith("unix:")
    assert os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o700  # private to this user
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(10)
    client.connect(path)
    try:
        big = os.urandom(300_000)  # more than a pipe holds: the relay must keep streaming
        with ThreadPoolExecutor(1) as reader:
            received = reader.submit(read_exactly, us_to_daemon_r, len(big))
            client.sendall(big)
            assert received.result(timeout=10) == big
        os.write(daemon_to_us_w, b"from the daemon")
        assert recv_exactly(client, 15) == b"from the daemon"
        # A second dial must fail: the HTTP/2 session cannot be restarted on the same pipes.
        deadline = time.monotonic() + 5
        while os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(OSError):
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).connect(path)
        # The daemon hanging up ends grpc's stream too.
        os.close(daemon_to_us_w)
        assert client.recv(10) == b""
        # grpc closing its side closes our stdout, as Go closes os.Stdout.
        client.shutdown(socket.SHUT_WR)
        assert os.read(us_to_daemon_r, 10) == b""
    finally:
        client.close()
        relay.close()
        for fd in (daemon_to_us_r, us_to_daemon_r):
            os.close(fd)
    assert not os.path.exists(os.path.dirname(path))


def test_pun_without_llb_outside_buildkit_is_a_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from pun.cli.main import main; " "sys.exit(main([]))"],
        env=child_env(),
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == b""  # never the HTTP/2 preface, unlike the original
    assert b"BuildKit did not start it" in done.stderr and b"pun --LLB" in done.stderr


def test_llb_mode_never_imports_the_frontend_or_grpc(tmp_path: Path) -> None:
    containerfile = CASES / "rumprun-redis" / "Containerfile"
    code = (
        "import sys\n"
        f"from {pun.cli.main.__name__} import main\n"
        f"code = main(['--LLB', '-f', {str(containerfile)!r}])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] == 'grpc'"
        " or m.startswith('pun.frontend'))\n"
        "sys.stderr.write(repr(heavy))\n"
        "sys.exit(code)\n"
    )
    # Even when BuildKit's variables are around, --LLB means LLB.
    done = python(code, child_env(BUILDKIT_SESSION_ID="s"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(b"\x0a")  # a Definition: field 1 (def), length-delimited
    assert done.stderr.decode().endswith("[]")
