"""A real REAPI server for tests: BuildGrid (`bgd`, PyPI `buildgrid==0.4.4`, CPython >= 3.11;
.ci/run installs it and puts `bgd` on PATH), cache only: CAS and ByteStream over a disk store,
an in-memory LRU ActionCache, one instance `main`, plain gRPC on 127.0.0.1 at a free port.
No database and no workers: Pants runs every process itself and only reads/writes the cache.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List

import pytest

from pun_testing.tools import unavailable

INSTANCE = "main"
START_TIMEOUT_SECONDS = 60.0

# The schema is BuildGrid's (buildgrid/server/app/settings/reference.yml in its sources).
CONFIG = """\
server:
  - !channel
    address: "127.0.0.1:{port}"
    insecure-mode: true
authorization:
  method: none
storages:
  - !disk-storage &cas
    path: {cas}
caches:
  - !lru-action-cache &ac
    storage: *cas
    max-cached-refs: 100000
    allow-updates: true
    cache-failed-actions: false
instances:
  - name: {instance}
    services:
      - !cas
        storage: *cas
      - !bytestream
        storage: *cas
      - !action-cache
        cache: *ac
"""


@dataclass(frozen=True)
class BuildGrid:
    port: int
    log: Path

    @property
    def address(self) -> str:
        return f"grpc://127.0.0.1:{self.port}"

    def pants_options(self) -> List[str]:
        """What a team's pants.toml sets ([GLOBAL]), as flags."""
        return [
            "--remote-cache-read",
            "--remote-cache-write",
            f"--remote-store-address={self.address}",
            f"--remote-instance-name={INSTANCE}",
        ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def buildgrid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuildGrid]:
    bgd = shutil.which("bgd")
    if bgd is None:
        unavailable(
            "BuildGrid's `bgd` is not on PATH (pip install buildgrid==0.4.4 into a "
            "CPython 3.11 venv and link its bin/bgd; .ci/run does)"
        )
    assert bgd is not None
    root = tmp_path_factory.mktemp("buildgrid")
    port = _free_port()
    config = root / "server.yml"
    config.write_text(CONFIG.format(port=port, cas=root / "cas", instance=INSTANCE))
    (root / "cas").mkdir()
    log = root / "bgd.log"
    with open(log, "wb") as sink:
        server = subprocess.Popen(
            [bgd, "server", "start", str(config)], stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not _answers(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"BuildGrid did not start on port {port}:\n"
                    + log.read_text(errors="replace")[-4000:]
                )
            time.sleep(0.2)
        yield BuildGrid(port, log)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=20)
