"""Where the shared, read-only reference material (../shared) lives; read it in place."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List



def shared_dir() -> Path:
    candidates: List[Path] = []
    if os.environ.get("PUN_SHARED"):
        candidates.append(Path(os.environ["PUN_SHARED"]))
    if os.environ.get("PUN_BUILDROOT"):
        candidates.append(Path(os.environ["PUN_BUILDROOT"]).parent / "shared")
    here = Path(__file__).resolve()
    candidates.extend(parent / "shared" for parent in here.parents)
    for candidate in candidates:
        if (candidate / "fixtures" / "pun-reference").is_dir():
            return candidate
    raise RuntimeError("cannot find ../shared (set PUN_SHARED to the shared folder)")


SHARED = shared_dir()
CASES = SHARED / "fixtures" / "pun-reference" / "cases"
VECTORS = SHARED / "fixtures" / "llb-vectors"
PARITY_CASES = sorted(p.name for p in CASES.iterdir() if (p / "expected" / "llb").is_file())
FIXTURE_UNIQUE_ID = "pun-fixture"




def buildroot() -> Path:
    """The repository (or the Pants sandbox holding its files)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "src" / "protos").is_dir():
            return parent
    return Path.cwd()
