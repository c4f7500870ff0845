"""A real OCI registry for tests: Debian's `docker-registry` on 127.0.0.1, on a free port.

Use the `registry` fixture (import it into a test module or conftest). Every wait is bounded;
the registry process is stopped (by its own pid) when the test ends.
"""

from __future__ import annotations

import crypt
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import pytest

from pun_testing.tools import require, run

START_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Registry:
    host: str  # "127.0.0.1:PORT"
    storage: Path
    username: Optional[str] = None
    password: Optional[str] = None

    @property
    def url(self) -> str:
        return f"http://{self.host}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(port: int, storage: Path, htpasswd: Optional[Path]) -> str:
    auth = ""
    if htpasswd is not None:
        auth = f"auth:\n  htpasswd:\n    realm: pun-test\n    path: {htpasswd}\n"
    return (
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n" + auth
    )


def start_registry(
    workdir: Path, username: Optional[str] = None, password: Optional[str] = None
) -> "tuple[Registry, subprocess.Popen]":
    program = require("docker-registry")
    storage = workdir / "storage"
    storage.mkdir(parents=True)
    htpasswd = None
    if username is not None and password is not None:
        htpasswd = workdir / "htpasswd"
        # Cost 4 (the minimum): the registry checks the hash on every request.
        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
        htpasswd.write_text(f"{username}:{hashed}\n")
    port = free_port()
    config = workdir / "config.yml"
    config.write_text(_config(port, storage, htpasswd))
    log = open(workdir / "registry.log", "wb")
    process = subprocess.Popen(
        [program, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    registry = Registry(f"127.0.0.1:{port}", storage, username, password)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"docker-registry exited: {(workdir / 'registry.log').read_text()}")
        try:
            urllib.request.urlopen(f"{registry.url}/v2/", timeout=1).close()
            break
        except urllib.error.HTTPError as exc:
            if exc.code == 401:  # up, and asking for credentials
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop_registry(process)
            raise RuntimeError(f"docker-registry did not answer within {START_TIMEOUT_SECONDS}s")
        time.sleep(0.1)
    return registry, process


def stop_registry(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_SECONDS)


@pytest.fixture
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """An anonymous registry on 127.0.0.1:<free port>, empty, for one test."""
    registry, process = start_registry(tmp_path_factory.mktemp("registry"))
    try:
        yield registry
    finally:
        stop_registry(process)


@pytest.fixture
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A registry that demands HTTP basic credentials (user `pun`, password `s3cret`)."""
    registry, process = start_registry(tmp_path_factory.mktemp("registry"), "pun", "s3cret")
    try:
        yield registry
    finally:
        stop_registry(process)


def push_layout(layout: Path, reference: str, tag: str = "1.0") -> None:
    """`skopeo copy --all` an OCI layout's `tag` to `reference` (a loopback registry: HTTP)."""
    run(
        [
            require("skopeo"),
            "copy",
            "--all",
            "--quiet",
            "--dest-tls-verify=false",
            f"oci:{layout}:{tag}",
            f"docker://{reference}",
        ]
    )
