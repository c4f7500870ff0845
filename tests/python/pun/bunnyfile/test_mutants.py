"""Mutants of bunny's bunnyfiles (lines dropped, doubled, re-indented, characters replaced): each
one is read into a plan or refused with PunErrors that name the file and a line in it, never a
traceback. Deterministic (seeded); PUN_FUZZ_SEED explores another stream."""

from __future__ import annotations

import os
import random
from typing import List

from pun.api import GenerateOptions, generate
from pun.diagnostics import PunError
from pun_testing.shared import BUNNY

SEED = int(os.environ.get("PUN_FUZZ_SEED", "20261201"))
MUTANTS = 3000
_PIECES = [
    ":",
    " ",
    "\n",
    "-",
    "[",
    "]",
    "{",
    "}",
    "'",
    '"',
    "#",
    "&a",
    "*a",
    "!!str",
    "\t",
    "version: v0.1",
    "from: local",
    "type: block",
    "type: raw",
    "include:",
    "\x00",
    "~",
]


def mutate(text: str, rng: random.Random) -> str:
    lines: List[str] = text.splitlines(keepends=True)
    for _ in range(rng.randint(1, 3)):
        if not lines:
            break
        where = rng.randrange(len(lines))
        kind = rng.randrange(5)
        if kind == 0:
            del lines[where]
        elif kind == 1:
            lines.insert(where, lines[where])
        elif kind == 2:
            lines[where] = "  " + lines[where]
        elif kind == 3:
            lines[where] = lines[where].lstrip()
        else:
            line = lines[where]
            at = rng.randrange(len(line) + 1)
            lines[where] = line[:at] + rng.choice(_PIECES) + line[at + rng.randint(0, 3) :]
    return "".join(lines)


def test_mutated_bunnyfiles_are_plans_or_clear_errors() -> None:
    rng = random.Random(SEED)
    sources = [p.read_text() for p in sorted(BUNNY.glob("*/bunnyfile"))]
    refused = 0
    for index in range(MUTANTS):
        text = mutate(rng.choice(sources), rng)
        try:
            generate(text, GenerateOptions(path="bunnyfile", local_unique_id="m"))
        except PunError as exc:
            refused += 1
            lines = text.count("\n") + 1
            for diagnostic in exc.diagnostics:
                assert diagnostic.path == "bunnyfile", (index, text, exc)
                assert diagnostic.line is None or 1 <= diagnostic.line <= lines, (index, text, exc)
                assert diagnostic.message and "Traceback" not in diagnostic.message
        except Exception as exc:  # pragma: no cover - this is the failure being looked for
            raise AssertionError(f"mutant {index} (seed {SEED}) crashed: {exc!r}\n{text}") from exc
    assert 0 < refused < MUTANTS  # both outcomes happen: neither all fine nor all broken
