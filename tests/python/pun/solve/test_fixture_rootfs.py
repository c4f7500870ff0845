"""The semantic check of LLB and solver together: for every reference case that a real BuildKit
built (expected/rootfs.txt), the embedded builder produces the same files, modes and bytes."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from pun_testing.building import pun_build
from pun_testing.rootfs import listing, writable_copy
from pun_testing.shared import CASES

ROOTFS_CASES = sorted(p.name for p in CASES.iterdir() if (p / "expected" / "rootfs.txt").is_file())


def test_there_are_cases_to_check() -> None:
    assert len(ROOTFS_CASES) >= 5


@pytest.mark.parametrize("case", ROOTFS_CASES)
def test_local_output_matches_what_buildkit_built(case: str, tmp_path: Path) -> None:
    context = writable_copy(CASES / case, tmp_path / "context")
    dest = tmp_path / "rootfs"
    run = pun_build(
        ["--context", str(context), "--output", f"type=local,dest={dest}"], tmp_path / "cache"
    )
    assert run.code == 0, run.err
    assert run.out == b""
    expected = (CASES / case / "expected" / "rootfs.txt").read_text().splitlines()
    assert listing(dest) == sorted(line for line in expected if line)
    written = json.loads((dest / "urunc.json").read_bytes())
    decoded = {key: base64.b64decode(value).decode("utf-8") for key, value in written.items()}
    assert decoded == json.loads((CASES / case / "expected" / "urunc.json").read_text())
