#!/usr/bin/env python3
"""Benchmark: `pants package ::` over 50 generated `unikernel_image` targets.

Generates a scratch Pants repository (this repo's ./pants launcher and offline settings; the
plugin from src/python) with 50 images, each COPYing its own kernel and config, then times:

  cold          first `package ::` (pantsd starting, every image built)
  warm/pantsd   `package ::` again, nothing changed, pantsd up (target: < 3 s)
  warm/no-pantsd  the same with --no-pantsd (Pants starts cold, the process cache answers)
  one change    one kernel edited, pantsd up: exactly one image rebuilt
  for scale     `list ::` with --no-pantsd: what Pants' own start-up costs here

Every run also counts the build processes Pants spawned (from its log of spawned local
processes), so a figure is only reported if the run did what it claims.

    python3 benchmarks/pants_50_images.py [--images 50] [--runs 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Dict, List, Tuple

REPO = Path(__file__).resolve().parent.parent
SPAWN_LOG = "--log-levels-by-target={'process_execution::local': 'debug'}"
BUILD_SPAWN = re.compile(r'spawned local process .*? description: "Building unikernel image ')
CONTAINERFILE = """FROM scratch
COPY kernel.hvt /unikernel/kernel.hvt
COPY app.conf /conf/app.conf
LABEL com.urunc.unikernel.binary=/unikernel/kernel.hvt
LABEL com.urunc.unikernel.cmdline="app /conf/app.conf"
LABEL com.urunc.unikernel.unikernelType="rumprun"
LABEL com.urunc.unikernel.hypervisor="hvt"
"""
BUILD = """files(name="rootfs", sources=["kernel.hvt", "app.conf"])
unikernel_image(name="{name}", image_tags=["1.0", "{{pants.hash}}"])
"""


def section(text: str, name: str) -> str:
    """One `[name]` section of pants.toml, verbatim (stdlib only: no TOML parser on 3.9)."""
    match = re.search(rf"^\[{re.escape(name)}\]\n(.*?)(?=^\[|\Z)", text, re.M | re.S)
    if match is None:
        raise SystemExit(f"pants.toml has no [{name}] section")
    return f"[{name}]\n{match.group(1).strip()}\n"


def pants_toml() -> str:
    repo = (REPO / "pants.toml").read_text()
    version = re.search(r'^pants_version = "([^"]+)"', repo, re.M)
    assert version is not None
    return "\n".join(
        [
            "[GLOBAL]",
            f'pants_version = "{version.group(1)}"',
            f'pythonpath = ["{REPO / "src" / "python"}"]',
            'plugins = ["dockerfile==3.4.0"]',
            'backend_packages = ["pun_rules"]',
            "",
            '[python]\ninterpreter_constraints = ["CPython==3.9.*"]\n',
            section(repo, "python-bootstrap"),
            section(repo, "pex-cli"),
            section(repo, "subprocess-environment"),
        ]
    )


def make_repo(root: Path, images: int, marker: str) -> None:
    root.mkdir(parents=True)
    shutil.copy2(REPO / "pants", root / "pants")
    (root / ".pants-bootstrap").mkdir()
    for pex in (REPO / ".pants-bootstrap").glob("pex-*.pex"):
        shutil.copy2(pex, root / ".pants-bootstrap" / pex.name)
    (root / "pants.toml").write_text(pants_toml())
    for n in range(images):
        directory = root / "uk" / f"img{n:02d}"
        directory.mkdir(parents=True)
        (directory / "Containerfile").write_text(CONTAINERFILE)
        (directory / "BUILD").write_text(BUILD.format(name=f"img{n:02d}"))
        # A marker unique to this benchmark run: nothing can come from an earlier run's cache.
        (directory / "kernel.hvt").write_bytes(f"kernel {n} {marker}\n".encode() * 512)
        (directory / "app.conf").write_text(f"port {6000 + n}\n")


def pants(root: Path, *args: str) -> Tuple[float, int]:
    """(wall seconds, build processes spawned) of one `./pants` run."""
    argv = ["./pants", "--no-dynamic-ui", SPAWN_LOG, *args]
    env = {**os.environ, "NO_SCIE_WARNING": "1"}
    started = time.monotonic()
    done = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr[-4000:]}")
    return elapsed, len(BUILD_SPAWN.findall(done.stderr))


def stop_pantsd(root: Path) -> None:
    for pid_file in root.glob(".pids/*/pantsd/pid"):
        try:
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
        except (ValueError, ProcessLookupError):
            pass


def expect(name: str, builds: int, expected: int) -> None:
    if builds != expected:
        raise SystemExit(f"{name}: expected {expected} build processes, Pants spawned {builds}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3, help="repetitions of the warm runs")
    parser.add_argument("--keep", type=Path, help="generate the repository here and keep it")
    args = parser.parse_args()

    scratch = args.keep or Path(tempfile.mkdtemp(prefix="pun-pants-bench-")) / "repo"
    make_repo(scratch, args.images, uuid.uuid4().hex)
    figures: Dict[str, List[float]] = {}
    try:
        seconds, builds = pants(scratch, "package", "::")
        expect("cold", builds, args.images)
        figures["cold (pantsd starting)"] = [seconds]
        warm = (("warm, no change, pantsd", ()), ("warm, no change, --no-pantsd", ("--no-pantsd",)))
        for name, flags in warm:
            for _ in range(args.runs):
                seconds, builds = pants(scratch, *flags, "package", "::")
                expect(name, builds, 0)
                figures.setdefault(name, []).append(seconds)
        for _ in range(args.runs):
            seconds, _ = pants(scratch, "--no-pantsd", "list", "::")
            figures.setdefault("for scale: `list ::` with --no-pantsd (Pants start-up)", []).append(
                seconds
            )
        for run in range(args.runs):
            kernel = scratch / "uk" / "img07" / "kernel.hvt"
            kernel.write_bytes(kernel.read_bytes() + f"change {run} {uuid.uuid4()}\n".encode())
            seconds, builds = pants(scratch, "package", "::")
            expect("one change", builds, 1)
            figures.setdefault("one change, pantsd", []).append(seconds)
    finally:
        stop_pantsd(scratch)
        if args.keep is None:
            shutil.rmtree(scratch.parent, ignore_errors=True)

    print(f"| `package ::`, {args.images} images | median | min | runs |")
    print("| --- | --- | --- | --- |")
    for name, values in figures.items():
        median, best = statistics.median(values), min(values)
        print(f"| {name} | {median:.1f} s | {best:.1f} s | {len(values)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
