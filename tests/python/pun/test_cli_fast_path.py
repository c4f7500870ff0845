"""`pun --LLB`'s own argument scan against argparse, the parser it stands in for (the oracle):
whatever the scan accepts, argparse must read the same way; whatever argparse rejects, or
reads as help, version or frontend mode, the scan must hand back (None)."""

from __future__ import annotations

import contextlib
import io
from typing import List, Optional

from hypothesis import given, settings
from hypothesis import strategies as st

from pun.cli.main import _parser, _scan_llb_args

WORDS = [
    "--LLB",
    "-LLB",
    "--dump",
    "--strict",
    "-f",
    "--file",
    "-file",
    "--file=Containerfile",
    "--build-arg",
    "--build-arg=A=1",
    "--platform",
    "--platform=linux/arm64",
    "--base-platform",
    "--local-unique-id",
    "Containerfile",
    "-",
    "A=1",
    "B",
    "linux/amd64",
    "-v",
    "-h",
    "--version",
    "-x",
    "--LLB=1",
    "-fContainerfile",
    "--",
    "",
    "-1",
]


def argparse_reading(argv: List[str]) -> Optional[dict]:
    """argparse's Namespace as a dict, or None when it exits (help, version, an error)."""
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        try:
            return vars(_parser().parse_args(argv))
        except SystemExit:
            return None


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=8))
def test_scan_agrees_with_argparse(argv: List[str]) -> None:
    scanned = _scan_llb_args(argv)
    if scanned is None:
        return
    expected = argparse_reading(argv)
    assert expected is not None, f"the scan accepted what argparse rejects: {argv}"
    assert not expected["version"]
    assert expected["llb"] or expected["dump"]
    assert vars(scanned) == expected


def test_the_common_command_lines_take_the_fast_path() -> None:
    for argv in (
        ["--LLB", "-f", "Containerfile"],
        ["-LLB", "-file", "Containerfile"],
        ["--LLB", "-f", "-", "--build-arg", "A=1", "--platform", "linux/arm64"],
        ["--dump", "--file=Containerfile", "--local-unique-id", "x", "--strict"],
    ):
        scanned = _scan_llb_args(argv)
        assert scanned is not None, argv
        assert vars(scanned) == argparse_reading(argv)


def test_help_version_and_errors_go_to_argparse() -> None:
    for argv in (
        ["-h"],
        ["--LLB", "-f", "F", "-v"],
        ["--LLB"],
        ["--LLB", "-f"],
        ["-f", "F"],
        ["--LLB", "-f", "-x"],
        ["--LLB", "--bogus", "-f", "F"],
    ):
        assert _scan_llb_args(argv) is None, argv
