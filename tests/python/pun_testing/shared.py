"""Where the recorded reference data (tests/data, see its README.md) lives; read it in place."""

from __future__ import annotations

from pathlib import Path

# tests/python/pun_testing/shared.py -> tests/data. Under `./pants test` the files target
# tests/data:data (a dependency of this module) puts the data at the same path in the sandbox.
DATA = Path(__file__).resolve().parents[2] / "data"
CASES = DATA / "pun-reference" / "cases"
VECTORS = DATA / "llb-vectors"
BUNNY = DATA / "bunny"  # bunny's own bunnyfiles, with what bunny makes of them
if not CASES.is_dir():
    raise RuntimeError(
        f"{CASES} is missing: run the tests from a checkout of the repository (with ./pants, the"
        " test must depend on tests/python/pun_testing/shared.py, which brings tests/data:data)"
    )
PARITY_CASES = sorted(p.name for p in CASES.iterdir() if (p / "expected" / "llb").is_file())
FIXTURE_UNIQUE_ID = "pun-fixture"


def buildroot() -> Path:
    """The repository (or the Pants sandbox holding its files)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "src" / "protos").is_dir():
            return parent
    return Path.cwd()
