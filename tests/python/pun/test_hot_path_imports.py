"""What `pun --LLB` loads (issue 13: start-up within 2x of a bare interpreter): on the common
Containerfiles, none of the modules that cost milliseconds at start-up. The figures themselves
are benchmarks/llb_generation.py's; this keeps the imports from creeping back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import pun.cli.main  # the child imports pun from where this process does (Pants ships it)
from pun_testing.shared import CASES

# The Go runtime (the old parser package), the regex machinery (with enum, functools and
# collections), and the modules the hot path imports under TYPE_CHECKING only or lazily.
HEAVY = ("dockerfile", "re", "enum", "functools", "collections", "typing", "argparse", "json")
PROBE = """
import sys
sys.argv = ["pun", "--LLB", "-f", sys.argv[1]]
from pun.cli.main import main
try:
    main()
except SystemExit:
    pass
sys.stderr.write(repr(sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})))
"""


@pytest.mark.parametrize("case", ["rumprun-redis", "scratch-single", "label-forms"])
def test_pun_llb_loads_nothing_heavy(case: str) -> None:
    src = str(Path(pun.__file__ or "").resolve().parent.parent)
    probe = PROBE.format(heavy=set(HEAVY))
    done = subprocess.run(
        [sys.executable, "-c", probe, str(CASES / case / "Containerfile")],
        env={**os.environ, "PYTHONPATH": src},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        check=True,
    )
    assert len(done.stdout) > 0  # the LLB was written
    assert done.stderr.decode().splitlines()[-1] == "[]"
