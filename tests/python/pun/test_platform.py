"""`--platform` words as containerd's platforms.Parse reads them (containerd/platforms
platforms.go `Parse`, database.go `isKnownOS`/`isKnownArch`): a lone word is an OS (with the
build machine's architecture) or an architecture (on linux), anything else is an error."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import pun.cli.main  # run as a subprocess below; importing it also brings it into Pants' sandbox
from pun.platform import InvalidPlatform, Platform, build_platform, parse_platform
from pun_testing.shared import buildroot


@pytest.mark.parametrize(
    "text, expected",
    [
        ("linux/amd64", Platform(os="linux", architecture="amd64")),
        ("qemu/amd64", Platform(os="qemu", architecture="amd64")),  # two words: any os
        ("arm64", Platform(os="linux", architecture="arm64")),
        ("aarch64", Platform(os="linux", architecture="arm64")),
        ("riscv64", Platform(os="linux", architecture="riscv64")),
    ],
)
def test_accepted(text: str, expected: Platform) -> None:
    assert parse_platform(text) == expected


def test_a_lone_os_takes_the_build_machine_s_architecture() -> None:
    assert parse_platform("linux") == Platform(
        os="linux", architecture=build_platform().architecture, variant=build_platform().variant
    )


@pytest.mark.parametrize(
    "text, says",
    [
        ("bogus", "unknown operating system or architecture"),
        ("qemu", "unknown operating system or architecture"),
        ("linux/", "expected os/arch"),
        ("linux/am d64", "expected os/arch"),  # specifierRe: ^[A-Za-z0-9_.-]+$
        ("linux/amd64/v1/x", "expected os/arch"),
    ],
)
def test_refused(text: str, says: str) -> None:
    with pytest.raises(InvalidPlatform, match=says):
        parse_platform(text)


def test_the_cli_names_the_flag_and_writes_nothing() -> None:
    done = subprocess.run(
        [sys.executable, "-m", pun.cli.main.__name__, "--LLB", "-f", "-", "--platform", "bogus"],
        input=b"FROM scratch\n",
        capture_output=True,
        env={"PYTHONPATH": os.pathsep.join([str(buildroot() / "src" / "python"), *sys.path])},
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (1, b"")
    assert b"error: --platform: invalid platform 'bogus'" in done.stderr
    assert b"Traceback" not in done.stderr
