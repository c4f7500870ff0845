"""Mutation fuzzing: every mutant of a real Containerfile gives valid LLB or one clean error.

The seeds are the recorded cases' Containerfiles (tests/data); each mutant is a seed with 1-4
byte- or line-level edits (pun_testing.mutate). At least 10,000 mutants go through pun.api in
process, bounded in time; a sample of the rejected ones goes through the real CLI.
Seeded: PUN_FUZZ_SEED picks another stream (a failure prints the seed and the input).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional, Tuple

import pytest

import pun.cli.main  # run as a subprocess below; importing it also brings it into Pants' sandbox
from pun.api import GenerateOptions, generate
from pun.diagnostics import PunError, Severity
from pun.llb.pb import ops_pb2
from pun_testing.mutate import mutants
from pun_testing.shared import CASES, VECTORS, buildroot

MUTANTS = 10_000
TIME_LIMIT_S = 120.0
CLI_SAMPLE = 40
SEED = int(os.environ.get("PUN_FUZZ_SEED", "9"))
OPTIONS = GenerateOptions(local_unique_id="fuzz")


def seeds() -> List[str]:
    files = sorted(CASES.glob("*/Containerfile")) + sorted(VECTORS.glob("*.Containerfile"))
    return [path.read_text(encoding="utf-8") for path in files]


def check_llb(definition: bytes) -> None:
    """Decodes with the protobuf runtime; every op is an Op; metadata names real ops."""
    parsed = ops_pb2.Definition.FromString(definition)
    ops = list(getattr(parsed, "def"))
    assert len(ops) >= 2, "a definition has at least a source and the terminal op"
    digests = set()
    for op_bytes in ops:
        ops_pb2.Op.FromString(op_bytes)
        digests.add("sha256:" + hashlib.sha256(op_bytes).hexdigest())
    assert set(parsed.metadata) <= digests


def check_error(exc: PunError, text: str) -> None:
    assert len(exc.diagnostics) == 1, f"one error, got {len(exc.diagnostics)}"
    (diagnostic,) = exc.diagnostics
    assert diagnostic.severity is Severity.ERROR
    assert diagnostic.message.strip()
    assert diagnostic.path == "Containerfile"
    if diagnostic.line is not None:
        assert 1 <= diagnostic.line <= text.count("\n") + 2, diagnostic.line


def outcome(text: str) -> Optional[PunError]:
    """None for valid LLB, the error for a clean rejection; anything else fails the test."""
    try:
        generated = generate(text, OPTIONS)
    except PunError as exc:
        check_error(exc, text)
        return exc
    check_llb(generated.definition)
    return None


def test_mutants_give_llb_or_one_clean_error() -> None:
    rejected: List[str] = []
    accepted = 0
    count = 0
    deadline = time.monotonic() + TIME_LIMIT_S
    stream = mutants(seeds(), SEED)
    while count < MUTANTS and time.monotonic() < deadline:
        text = next(stream)
        count += 1
        try:
            result = outcome(text)
        except Exception as exc:  # noqa: BLE001 - the point: name the input that broke pun
            pytest.fail(f"mutant #{count} (PUN_FUZZ_SEED={SEED}) raised {exc!r}:\n{text!r}")
        if result is None:
            accepted += 1
        else:
            rejected.append(text)
    print(f"fuzz: {count} mutants, {accepted} valid LLB, {len(rejected)} clean errors")
    if os.environ.get("CI") == "true":
        assert count >= MUTANTS, f"only {count} mutants in {TIME_LIMIT_S:.0f} s"
    # The stream is worth its time only if it reaches both outcomes often.
    assert accepted >= count // 20 and len(rejected) >= count // 20
    CLI_INPUTS.extend(rejected[:: max(1, len(rejected) // CLI_SAMPLE)][:CLI_SAMPLE])


CLI_INPUTS: List[str] = []


def run_cli(path: Path) -> Tuple[int, bytes, str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(buildroot() / "src" / "python"), *sys.path]),
    }
    done = subprocess.run(
        [sys.executable, "-m", pun.cli.main.__name__, "--LLB", "-f", str(path)],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr.decode("utf-8", "replace")


def test_rejected_mutants_through_the_cli(tmp_path: Path) -> None:
    inputs = CLI_INPUTS or [next(mutants(seeds(), SEED))]
    inputs = [*inputs, "FROM scratch\nCOPY a /a\n\\", "\\"]  # the lone `\` of issue 9
    for index, text in enumerate(inputs):
        path = tmp_path / f"Containerfile.{index}"
        path.write_bytes(text.encode("utf-8", "surrogateescape"))
        code, out, err = run_cli(path)
        if code == 0:
            continue  # only when the sample came from a lone run of this test
        assert (code, out) == (1, b""), f"{text!r}: exit {code}, stdout {out[:80]!r}"
        assert "Traceback" not in err and err.strip(), f"{text!r}: stderr {err!r}"
        assert err.startswith(f"{path}:"), f"{text!r}: the error names the file: {err!r}"
