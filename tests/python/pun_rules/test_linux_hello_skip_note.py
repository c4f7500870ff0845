"""examples/linux-hello without its Debian files is skipped by pants.toml's tag filter, which
says nothing (`./pants package examples/linux-hello:image` would only warn "No files or targets
specified"); ./pants runs examples/linux-hello/skip-note.sh first, which must say why on
stderr, for the commands that would have included the example, and only for those."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import List

import pytest

NOTE = "examples/linux-hello and its boot test are skipped"


def checkout() -> Path:
    root = os.environ.get("PUN_BUILDROOT")  # the checkout (the script is not in the sandbox)
    return Path(root) if root else Path(__file__).resolve().parents[3]


@pytest.fixture
def example(tmp_path: Path) -> Path:
    here = tmp_path / "examples" / "linux-hello"
    here.mkdir(parents=True)
    shutil.copy(checkout() / "examples" / "linux-hello" / "skip-note.sh", here)
    return here


def note(example: Path, args: List[str]) -> str:
    done = subprocess.run(
        ["bash", str(example / "skip-note.sh"), *args], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0 and done.stdout == ""  # never in the way of ./pants' data
    return done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["package", "::"],
        ["test", "::"],
        ["package", "examples::"],
        ["run", "examples/linux-hello:image"],
        ["package", "//examples/linux-hello:image-rootfs"],
        ["test", "tests/python/pun/run:boot"],
    ],
)
def test_a_command_that_would_include_the_example_says_why_it_is_skipped(
    example: Path, args: List[str]
) -> None:
    err = note(example, args)
    assert NOTE in err and "bash examples/linux-hello/fetch-debian.sh" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("args", [["package", "src/python/pun::"], ["--version"], []])
def test_other_commands_get_no_note(example: Path, args: List[str]) -> None:
    assert note(example, args) == ""


def test_no_note_once_the_files_are_fetched(example: Path) -> None:
    (example / "debian").mkdir()
    (example / "debian" / "pants.rc").write_text("[GLOBAL]\n")  # what fetch-debian.sh writes
    assert note(example, ["package", "::"]) == ""


def test_pants_runs_the_note_before_pants(example: Path) -> None:
    launcher = (checkout() / "pants").read_text()
    call = launcher.index('bash "$skip_note" "$@"')
    assert call < launcher.index('exec "$venv/bin/pants" "$@"')
