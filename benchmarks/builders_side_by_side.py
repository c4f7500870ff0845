#!/usr/bin/env python3
"""Benchmark: `pun build` with the embedded builder and with the buildctl builder (a real
BuildKit), side by side, on the repository's examples that need no network; with `--boot`,
also `pun run` (QEMU, TCG where KVM cannot boot the guest) of both builders' linux-hello images.

Each build is one `pun build -o type=oci` child process; the median wall time of N runs per
builder and example is reported with the ratio buildctl/embedded, runs interleaved so load
changes hit both alike. BuildKit's own cache is warm after the first run (as in daily use), so
the figures compare steady-state builds. The contexts are what Pants would hand the build:
hello-shell's kernel made by its build.sh, linux-hello's initrd by `pun initrd` with the
layout of its `unikernel_initrd` target (examples/linux-hello/BUILD). linux-hello needs
`examples/linux-hello/fetch-debian.sh` to have run; without its files it is left out, with the
reason on stderr. Needs BUILDCTL and BUILDKIT_HOST (see the README's BuildKit section).

    PYTHONPATH=src/python python benchmarks/builders_side_by_side.py [--runs 5] [--boot]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional

ROOT = Path(__file__).resolve().parent.parent
GUEST_LINE = b"linux-hello: hello from a Linux guest booted by urunc's rules"


class Example(NamedTuple):
    name: str  # as printed
    directory: str  # under examples/
    containerfile: str = "Containerfile"


EXAMPLES = (
    Example("rumprun-redis", "rumprun-redis"),
    Example("hello-shell", "hello-shell"),
    Example("linux-hello", "linux-hello"),
    Example("linux-hello-rootfs", "linux-hello", "rootfs.Containerfile"),  # pun makes the initrd
)


def pun(*args: str, cache: Path) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "pun.cli.main", *args]
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    return subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def prepare(example: Example, work: Path, cache: Path) -> Optional[Path]:
    """The build context, or None (and why on stderr) when its inputs are missing."""
    context = work / example.name
    source = ROOT / "examples" / example.directory
    if example.directory == "linux-hello" and not (source / "debian" / "vmlinuz").is_file():
        sys.stderr.write(
            f"{example.name}: left out: no examples/linux-hello/debian/ "
            "(run bash examples/linux-hello/fetch-debian.sh)\n"
        )
        return None
    shutil.copytree(source, context, symlinks=True)
    if example.directory == "hello-shell":
        subprocess.run(["bash", "build.sh"], cwd=context, check=True)
    if example.directory == "linux-hello":
        made = pun(
            "initrd",
            "-o",
            str(context / "initrd.cpio"),
            f"{context / 'init'}:/init",
            f"{context / 'debian' / 'busybox'}:/bin/busybox",
            *("--symlink", "/bin/sh=busybox", "--symlink", "/bin/poweroff=busybox"),
            *("--dir", "/dev", "--dir", "/proc", "--dir", "/sys"),
            cache=cache,
        )
        if made.returncode != 0:
            raise SystemExit(f"pun initrd failed:\n{made.stderr.decode()}")
    return context


def build_once(builder: str, example: Example, context: Path, dest: Path, cache: Path) -> float:
    argv = ["build", "-f", str(context / example.containerfile), "--context", str(context)]
    argv += ["--output", f"type=oci,dest={dest}", "--builder", builder, "--progress", "quiet"]
    if builder == "buildctl":
        argv += ["--buildctl", os.environ["BUILDCTL"]]
    started = time.monotonic()
    done = pun(*argv, cache=cache)
    elapsed = time.monotonic() - started
    if done.returncode != 0:  # the warnings of a good build are noise; a failure's are not
        sys.stderr.write(done.stderr.decode())
        raise SystemExit(f"{builder} build of {example.name} failed")
    return elapsed


def boot_once(archive: Path, cache: Path) -> float:
    """`pun run` of the archive; seconds until QEMU exited (the guest powers itself off)."""
    started = time.monotonic()
    done = pun("run", str(archive), "--timeout", "300", cache=cache)
    elapsed = time.monotonic() - started
    if done.returncode != 0 or GUEST_LINE not in done.stdout:
        sys.stderr.write(done.stderr.decode() + done.stdout.decode("utf-8", "replace")[-2000:])
        raise SystemExit(f"booting {archive.name} failed")
    return elapsed


def guest_facts(archive: Path, cache: Path) -> str:
    """One more boot: the accelerator `pun run` chose (its stderr) and the kernel's own clock
    when it started /init (`[    1.75] Run /init as init process`)."""
    done = pun("run", str(archive), "--timeout", "300", cache=cache)
    accel = re.search(rb" on qemu \((\w+)\)", done.stderr)
    found = re.search(rb"\[\s*([0-9.]+)\] Run /init as init process", done.stdout)
    return (
        f"{accel.group(1).decode() if accel else '?'}; /init started at "
        f"{float(found.group(1)) if found else float('nan'):.2f} s of guest time"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--boot", action="store_true", help="also boot linux-hello (QEMU)")
    args = parser.parse_args()
    if not (os.environ.get("BUILDCTL") and os.environ.get("BUILDKIT_HOST")):
        sys.stderr.write("set BUILDCTL and BUILDKIT_HOST (see the README's BuildKit section)\n")
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        work, cache = Path(scratch), Path(scratch) / "cache"
        print(f"{'example':<20} {'embedded s':>11} {'buildctl s':>11} {'ratio':>6}  archive KB")
        for example in EXAMPLES:
            context = prepare(example, work, cache)
            if context is None:
                continue
            times: Dict[str, List[float]] = {"embedded": [], "buildctl": []}
            archives = {b: work / f"{example.name}.{b}.oci.tar" for b in times}
            for _ in range(args.runs):
                for builder in times:
                    times[builder].append(
                        build_once(builder, example, context, archives[builder], cache)
                    )
            embedded, buildctl = (statistics.median(times[b]) for b in ("embedded", "buildctl"))
            size = archives["embedded"].stat().st_size / 1e3
            print(
                f"{example.name:<20} {embedded:>11.2f} {buildctl:>11.2f} "
                f"{buildctl / embedded:>6.2f}  {size:.0f}",
                flush=True,
            )
            if args.boot and example.name == "linux-hello":
                for builder, archive in archives.items():
                    boots = [boot_once(archive, cache) for _ in range(args.runs)]
                    print(
                        f"  pun run of the {builder} image: median {statistics.median(boots):.2f}"
                        f" s, min {min(boots):.2f} s ({guest_facts(archive, cache)})",
                        flush=True,
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
