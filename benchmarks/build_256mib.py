#!/usr/bin/env python3
"""Benchmark: a 256 MiB unikernel (FROM scratch + one COPY) -> type=oci, embedded builder.

Runs `pun build` in a child process per setting and reports wall time and the child's peak
RSS (from wait4's rusage, so it is the builder's own memory, not this script's). The payload
is random bytes: incompressible, the worst case for gzip. Target: peak RSS < 100 MiB.

    PYTHONPATH=src/python python benchmarks/build_256mib.py [--size-mib 256] [--runs 1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Tuple

SETTINGS = (
    ("gzip level 6 (default)", ""),
    ("gzip level 1", ",compression-level=1"),
    ("uncompressed", ",compression=uncompressed"),
)
CONTAINERFILE = """FROM scratch
COPY app.qemu /unikernel/app.qemu
LABEL com.urunc.unikernel.binary=/unikernel/app.qemu
LABEL com.urunc.unikernel.unikernelType=unikraft
LABEL com.urunc.unikernel.hypervisor=qemu
"""


def make_context(root: Path, size_mib: int) -> None:
    (root / "Containerfile").write_text(CONTAINERFILE)
    with open(root / "app.qemu", "wb") as handle:
        for _ in range(size_mib):
            handle.write(os.urandom(1024 * 1024))


def measure(context: Path, output: str, cache: Path) -> Tuple[float, int]:
    """(wall seconds, peak RSS in KiB) of one `pun build` child process."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    env.pop("BUILDKIT_HOST", None)
    argv = [sys.executable, "-m", "pun.cli", "build", "--context", str(context), "--output", output]
    started = time.monotonic()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"pun build failed: {argv}")
    return elapsed, usage.ru_maxrss


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description="pun build benchmark: 256 MiB unikernel -> OCI")
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--runs", type=int, default=1, help="runs per setting (best is reported)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pun-bench-") as scratch:
        root = Path(scratch)
        context = root / "ctx"
        context.mkdir()
        make_context(context, args.size_mib)
        print(f"payload: {args.size_mib} MiB of random bytes, FROM scratch + 1 COPY -> type=oci")
        for name, attrs in SETTINGS:
            results = []
            for run in range(args.runs):
                archive = root / f"image-{run}.tar"
                results.append(measure(context, f"type=oci,dest={archive}{attrs}", root / "cache"))
                size = archive.stat().st_size
                archive.unlink()
            wall, rss = min(results)
            print(
                f"{name:24} wall {wall:6.2f} s   peak RSS {rss / 1024:6.1f} MiB   "
                f"archive {size / (1024 * 1024):6.1f} MiB"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
