#!/usr/bin/env python3
"""Benchmark: `pun build --builder embedded` side by side with a real BuildKit and `gzip -6`.

Two inputs, each FROM scratch + one COPY -> a gzipped OCI archive:
  - random:    256 MiB of random bytes (incompressible, gzip's worst case);
  - realistic: 64 MiB of the machine's shared libraries (/usr/lib/x86_64-linux-gnu/*.so*,
               concatenated in name order: uncompressed ELF code and data, like a unikernel).

Each side runs as a whole child process, wall time and its own peak RSS (wait4's rusage):
  - pun:      `python -m pun.cli build --builder embedded --output type=oci,dest=...`
  - BuildKit: `buildctl --addr ADDR build --local context=DIR --output type=oci,dest=...` with
              the LLB `pun --LLB` wrote (made once, not timed), after `buildctl prune --all`
              (not timed) so BuildKit starts cold every run, as pun does;
  - gzip -6:  the machine's `gzip -6 -c FILE > OUT` on the payload alone (no tar, no hashing).

The runs alternate (pun, BuildKit, gzip, pun, ...) so load on a shared machine hits all alike;
medians are reported, with each ratio printed next to its two sides.

    PYTHONPATH=src/python python benchmarks/build_256mib.py [--runs 3] [--addr unix:///tmp/bk/buildkitd.sock]
    (--no-buildkit leaves BuildKit out; --input random|realistic runs one input)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

CONTAINERFILE = """FROM scratch
COPY app.qemu /unikernel/app.qemu
LABEL com.urunc.unikernel.binary=/unikernel/app.qemu
LABEL com.urunc.unikernel.unikernelType=unikraft
LABEL com.urunc.unikernel.hypervisor=qemu
"""
MIB = 1024 * 1024
LIBRARIES = Path("/usr/lib/x86_64-linux-gnu")


def random_payload(path: Path, size_mib: int) -> str:
    with open(path, "wb") as handle:
        for _ in range(size_mib):
            handle.write(os.urandom(MIB))
    return f"{size_mib} MiB of random bytes"


def realistic_payload(path: Path, size_mib: int) -> str:
    wanted, used = size_mib * MIB, 0
    with open(path, "wb") as handle:
        for library in sorted(LIBRARIES.iterdir()):
            if used >= wanted:
                break
            if ".so" in library.name and library.is_file() and not library.is_symlink():
                used += handle.write(library.read_bytes()[: wanted - used])
    if used < wanted:
        raise SystemExit(f"{LIBRARIES}: only {used} bytes of shared libraries")
    return f"{size_mib} MiB of {LIBRARIES}/*.so* (name order)"


def run(
    argv: Sequence[str],
    env: Dict[str, str],
    stdin: Optional[Path] = None,
    stdout: Optional[Path] = None,
) -> Tuple[float, int]:
    """(wall seconds, peak RSS in KiB) of one child process."""
    with open(stdin or os.devnull, "rb") as given, open(
        stdout or os.devnull, "wb"
    ) as out, tempfile.TemporaryFile() as errors:
        started = time.monotonic()
        process = subprocess.Popen(argv, env=env, stdin=given, stdout=out, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.monotonic() - started
        if os.waitstatus_to_exitcode(status) != 0:
            errors.seek(0)
            sys.stderr.write(errors.read().decode("utf-8", "replace"))
            raise SystemExit(f"failed: {' '.join(argv)}")
    return elapsed, usage.ru_maxrss


def engine() -> str:
    from pun.oci.deflate import engine as deflate_engine
    from pun.oci.deflate import isal_version

    return f"{deflate_engine(6)} (isal {isal_version() or 'not installed'})"


def bench(name: str, context: Path, scratch: Path, runs: int, addr: Optional[str]) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(scratch / "cache")}
    env.pop("BUILDKIT_HOST", None)
    archive = scratch / "image.tar"
    pun = [sys.executable, "-m", "pun.cli"]
    sides: Dict[str, List[Tuple[float, int]]] = {"pun": [], "buildkit": [], "gzip": []}
    llb = scratch / "def.llb"
    if addr:
        run([*pun, "--LLB", "-f", str(context / "Containerfile")], env, stdout=llb)
    for _ in range(runs):
        sides["pun"].append(
            run(
                [
                    *pun,
                    "build",
                    "--builder",
                    "embedded",
                    "--context",
                    str(context),
                    "--output",
                    f"type=oci,dest={archive}",
                ],
                env,
            )
        )
        pun_size = archive.stat().st_size
        archive.unlink()
        if addr:
            run(["buildctl", "--addr", addr, "prune", "--all"], env)
            sides["buildkit"].append(
                run(
                    [
                        "buildctl",
                        "--addr",
                        addr,
                        "build",
                        "--local",
                        f"context={context}",
                        "--output",
                        f"type=oci,dest={archive}",
                    ],
                    env,
                    stdin=llb,
                )
            )
            bk_size = archive.stat().st_size
            archive.unlink()
        sides["gzip"].append(
            run(["gzip", "-6", "-c", str(context / "app.qemu")], env, stdout=archive)
        )
        gzip_size = archive.stat().st_size
        archive.unlink()

    def line(label: str, key: str, size: int) -> float:
        wall = statistics.median(w for w, _ in sides[key])
        rss = max(r for _, r in sides[key]) / 1024
        print(
            f"  {label:34} median {wall:6.2f} s  (min {min(w for w, _ in sides[key]):5.2f})  "
            f"peak RSS {rss:6.1f} MiB  output {size / MIB:6.1f} MiB"
        )
        return wall

    print(f"{name}, {runs} runs each:")
    pun_wall = line("pun build --builder embedded", "pun", pun_size)
    if addr:
        bk_wall = line("buildctl build (BuildKit, pruned)", "buildkit", bk_size)
        print("    (BuildKit's peak RSS is buildctl's, the client's; buildkitd's is not counted)")
    gzip_wall = line("gzip -6 (payload only)", "gzip", gzip_size)
    if addr:
        print(
            f"  ratio pun / BuildKit = {pun_wall:.2f} s / {bk_wall:.2f} s = "
            f"{pun_wall / bk_wall:.2f}x  (target <= 0.75x)"
        )
    print(
        f"  ratio pun / gzip -6  = {pun_wall:.2f} s / {gzip_wall:.2f} s = "
        f"{pun_wall / gzip_wall:.2f}x"
    )


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--addr", default="unix:///tmp/bk/buildkitd.sock", help="buildkitd's address for buildctl"
    )
    parser.add_argument("--no-buildkit", action="store_true")
    parser.add_argument("--input", choices=("random", "realistic", "both"), default="both")
    args = parser.parse_args(argv)
    addr = None if args.no_buildkit else args.addr
    if addr and shutil.which("buildctl") is None:
        raise SystemExit("buildctl is not on PATH (or pass --no-buildkit)")
    print(f"pun's deflate: {engine()}; gzip: {shutil.which('gzip')}")
    inputs = [("random", random_payload, 256), ("realistic", realistic_payload, 64)]
    for key, make, size_mib in inputs:
        if args.input not in (key, "both"):
            continue
        with tempfile.TemporaryDirectory(prefix="pun-bench-") as scratch:
            root = Path(scratch)
            context = root / "ctx"
            context.mkdir()
            (context / "Containerfile").write_text(CONTAINERFILE)
            described = make(context / "app.qemu", size_mib)
            bench(f"{key}: {described}", context, root, args.runs, addr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
