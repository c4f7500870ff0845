#!/usr/bin/env python3
"""Benchmark: `pun build` with the embedded builder and with the buildctl builder (a real
BuildKit), side by side, on the repository's examples that need no network.

Each build is one `pun build -o type=oci` child process; the median wall time of N runs per
builder and example is reported with the ratio buildctl/embedded. BuildKit's own cache is
warm after the first run (as in daily use), so the figures compare steady-state builds.
Needs BUILDCTL and BUILDKIT_HOST (see the README's BuildKit section).

    PYTHONPATH=src/python python benchmarks/builders_side_by_side.py [--runs 5]
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
from typing import Dict, List

EXAMPLES = ("rumprun-redis",)


def build_once(builder: str, context: Path, dest: Path, cache: Path) -> float:
    argv = [
        sys.executable,
        "-m",
        "pun.cli",
        "build",
        "--context",
        str(context),
        "--output",
        f"type=oci,dest={dest}",
        "--builder",
        builder,
        "--progress",
        "quiet",
    ]
    if builder == "buildctl":
        argv += ["--buildctl", os.environ["BUILDCTL"]]
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    started = time.monotonic()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.monotonic() - started
    if done.returncode != 0:  # the warnings of a good build are noise; a failure's are not
        sys.stderr.write(done.stderr.decode())
        raise SystemExit(f"{builder} build of {context.name} failed")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not (os.environ.get("BUILDCTL") and os.environ.get("BUILDKIT_HOST")):
        sys.stderr.write("set BUILDCTL and BUILDKIT_HOST (see the README's BuildKit section)\n")
        return 2
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        print(f"{'example':<16} {'embedded s':>11} {'buildctl s':>11} {'ratio':>6}")
        for example in EXAMPLES:
            context = work / example
            shutil.copytree(root / "examples" / example, context)
            times: Dict[str, List[float]] = {"embedded": [], "buildctl": []}
            for _ in range(args.runs):
                for builder in times:  # interleaved, so load changes hit both alike
                    times[builder].append(
                        build_once(builder, context, work / f"{builder}.tar", work / "cache")
                    )
            embedded, buildctl = (statistics.median(times[b]) for b in ("embedded", "buildctl"))
            print(f"{example:<16} {embedded:>11.2f} {buildctl:>11.2f} {buildctl / embedded:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
