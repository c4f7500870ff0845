#!/usr/bin/env python3
"""Benchmark: Containerfile -> LLB (issue targets, checked here rather than in timed tests).

1. One `pun --LLB` process on the rumprun-redis fixture: median wall time over N runs, for each
   way a user can start pun (the installed console script, `python -m pun.cli`, the PEX), run
   alternately with a bare `python -c pass` on the same interpreter (a script's shebang).
   Target (issue 13): the console script within 2x of the bare interpreter.
2. LLB for 100 Containerfiles through the library in one process, after imports.
   Target: < 60 ms (100 runs of the original take ~1.2 s).

Usage: benchmarks/llb_generation.py [--runs N] [--wheel WHL] [--pex PEX] [--pun CMD ...]
                                   [--cases DIR]
  --wheel WHL  install the wheel (./pants package src/python/pun:dist) into a fresh venv on this
               interpreter (pip, --no-deps: `pun --LLB` imports no third-party package) and time
               its `pun` console script: the figure issue 13 asks for.
  --pex PEX    time the PEX (./pants package src/python/pun:pun), its own bootstrap alone
               (`PEX_INTERPRETER=1 PEX -c pass`), and the venv its tools make
               (`PEX_TOOLS=1 PEX venv DIR`, then DIR/pex).
Run from the repository root (part 2 imports pun from src/python).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional, Tuple


def time_pair(
    command: List[str], baseline: List[str], runs: int, env: Optional[dict] = None
) -> Tuple[List[float], List[float]]:
    """Wall times of `command` and `baseline`, run alternately so load hits both alike. Both
    run without PYTHONPATH: a source tree on it would replace the installed (compiled) pun."""
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env = {k: v for k, v in env.items() if k != "PYTHONPATH"} if env else clean
    for argv in (command, baseline):
        subprocess.run(
            argv,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env if argv is command else clean,
        )
    samples: Tuple[List[float], List[float]] = ([], [])
    cpu: Tuple[List[float], List[float]] = ([], [])
    for _ in range(runs):
        for argv, into, cpu_into in (
            (command, samples[0], cpu[0]),
            (baseline, samples[1], cpu[1]),
        ):
            start = time.perf_counter()
            process = subprocess.Popen(
                argv,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env if argv is command else clean,
            )
            _, status, usage = os.wait4(process.pid, 0)
            into.append(time.perf_counter() - start)
            if os.waitstatus_to_exitcode(status) != 0:
                raise SystemExit(f"failed: {argv}")
            cpu_into.append(usage.ru_utime + usage.ru_stime)
    CPU_TIMES.append(cpu)
    return samples


# The children's CPU time (user + system, from wait4), per time_pair call: less disturbed by
# other load than wall time on a busy machine.
CPU_TIMES: List[Tuple[List[float], List[float]]] = []


def describe(samples: List[float]) -> str:
    # The minimum is the figure least disturbed by other load on a shared machine.
    return f"median {statistics.median(samples) * 1000:.1f} ms, min {min(samples) * 1000:.1f} ms"


def interpreter_of(argv: List[str]) -> str:
    """The Python a command runs on: itself, or a script's shebang (`env` resolved, its
    options and VAR=value words skipped), else this one."""
    if os.path.basename(argv[0]).startswith("python"):
        return shutil.which(argv[0]) or argv[0]
    try:
        with open(shutil.which(argv[0]) or argv[0], "rb") as handle:
            first = handle.readline()
    except OSError:
        return sys.executable
    if first.startswith(b"#!") and b"python" in first:
        words = first[2:].decode().split()
        if os.path.basename(words[0]) == "env":
            program = next(w for w in words[1:] if not w.startswith("-") and "=" not in w)
            return shutil.which(program) or program
        return words[0]
    return sys.executable


def pex_python(pex: str) -> str:
    """The interpreter a venv-mode PEX runs pun on (its venv's python)."""
    return subprocess.run(
        [pex, "-c", "import sys; print(sys.executable)"],
        env={**os.environ, "PEX_INTERPRETER": "1"},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def batch_of_100(cases: Path) -> float:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src" / "python"))
    from pun.api import GenerateOptions, generate

    texts = [p.read_text() for p in sorted(cases.glob("*/Containerfile")) if "err-" not in str(p)]
    batch = [texts[i % len(texts)] + f"LABEL org.example.n={i}\n" for i in range(100)]
    generate(batch[0])  # imports and first-use costs are not part of the figure
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for text in batch:
            generate(text, GenerateOptions(local_unique_id="bench"))
        best = min(best, time.perf_counter() - start)
    return best * 1000


def install_wheel(wheel: Path, into: Path) -> str:
    """A venv on this interpreter with the wheel installed; returns its `pun` console script."""
    subprocess.run([sys.executable, "-m", "venv", str(into)], check=True)
    subprocess.run(
        [
            str(into / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
    )
    return str(into / "bin" / "pun")


def report(
    label: str, argv: List[str], runs: int, env: Optional[dict] = None, python: str = ""
) -> None:
    python = python or interpreter_of(argv)
    pun, bare = time_pair(argv, [python, "-c", "pass"], runs, env)
    print(f"{label} ({runs} runs, alternating with `{python} -c pass`):")
    print(f"  it:                {describe(pun)}")
    print(f"  bare interpreter:  {describe(bare)}")
    ratio = statistics.median(pun) / statistics.median(bare)
    print(
        f"  ratio of medians:  {statistics.median(pun) * 1000:.1f} / "
        f"{statistics.median(bare) * 1000:.1f} ms = {ratio:.2f}x"
    )
    pun_cpu, bare_cpu = (statistics.median(c) * 1000 for c in CPU_TIMES[-1])
    print(
        f"  CPU time (user+sys), medians: {pun_cpu:.1f} / {bare_cpu:.1f} ms = "
        f"{pun_cpu / bare_cpu:.2f}x"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument(
        "--pun",
        action="append",
        default=[],
        help="a command that starts pun (repeatable), e.g. 'dist/src.python.pun/pun.pex'",
    )
    parser.add_argument(
        "--cases", type=Path, default=Path("tests") / "data" / "pun-reference" / "cases"
    )
    parser.add_argument("--wheel", type=Path, help="a pun wheel to install and time")
    parser.add_argument("--pex", type=Path, help="a pun PEX to time, with its bootstrap alone")
    args = parser.parse_args()
    containerfile = args.cases / "rumprun-redis" / "Containerfile"
    llb = ["--LLB", "-f", str(containerfile)]
    with tempfile.TemporaryDirectory() as scratch:
        commands = [(command, shlex.split(command)) for command in args.pun]
        if args.wheel:
            commands.insert(
                0,
                (
                    "installed wheel, its `pun` script",
                    [install_wheel(args.wheel, Path(scratch) / "venv")],
                ),
            )
        if not commands and not args.pex:
            commands = [(f"{sys.executable} -m pun.cli", [sys.executable, "-m", "pun.cli"])]
        for label, argv in commands:
            report(f"{label} --LLB -f rumprun-redis", [*argv, *llb], args.runs)
        if args.pex:
            pex = str(args.pex.resolve())
            python = pex_python(pex)
            report(f"{args.pex} --LLB -f rumprun-redis", [pex, *llb], args.runs, python=python)
            report(
                f"{args.pex}'s bootstrap alone (PEX_INTERPRETER=1 {args.pex} -c pass)",
                [pex, "-c", "pass"],
                args.runs,
                {**os.environ, "PEX_INTERPRETER": "1"},
                python=python,
            )
            # What the README suggests when start-up matters and the PEX is what you have.
            venv = Path(scratch) / "pex-venv"
            made = subprocess.run(
                [pex, "venv", "--compile", str(venv)],
                env={**os.environ, "PEX_TOOLS": "1"},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if made.returncode == 0:
                report(
                    f"its venv (PEX_TOOLS=1 {args.pex} venv DIR), DIR/pex --LLB -f "
                    "rumprun-redis",
                    [str(venv / "pex"), *llb],
                    args.runs,
                )
    print(f"batch of 100 through the library: {batch_of_100(args.cases):.1f} ms (best of 5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
