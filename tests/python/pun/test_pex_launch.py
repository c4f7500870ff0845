"""The `pun` PEX (src/python/pun:pun) starts as `./pun.pex`, also where pyenv selects no 3.9."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

import pun

PEX = Path("src.python.pun") / "pun.pex"  # where runtime_package_dependencies puts it


def pex() -> Path:
    if not PEX.is_file():
        pytest.skip("run through ./pants test (it packages src/python/pun:pun for this test)")
    return PEX.resolve()


def launch(env: Dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(pex()), "--version"], capture_output=True, text=True, env=env, timeout=300
    )


def base_env() -> Dict[str, str]:
    keep = ("HOME", "PEX_ROOT", "SSL_CERT_FILE")
    return {k: os.environ[k] for k in keep if k in os.environ}


def test_the_shebang_names_no_fixed_interpreter_path() -> None:
    first = pex().read_bytes().split(b"\n", 1)[0]
    assert first == b"#!/usr/bin/env -S PYENV_VERSION=3.9:system python3.9"


def python39() -> Path:
    """The CPython 3.9 running this test (Pants' own choice), not its venv's wrapper."""
    base = Path(sys.base_prefix) / "bin" / "python3.9"
    assert base.is_file(), base
    return base


FAKE_SHIM = """#!/bin/sh
# Behaves as a pyenv shim: runs the command from the first selected version that has it, and
# fails as pyenv does when none has it (pyenv's shims take the selection from PYENV_VERSION).
IFS=:
for v in $PYENV_VERSION; do
  case "$v" in 3.9|3.9.*) exec {python} "$@";; esac
done
echo "pyenv: python3.9: command not found" >&2
exit 127
"""


def shim_env(tmp_path: Path) -> Dict[str, str]:
    """PATH as a pyenv user has it: shims first, a non-3.9 version selected. The real pyenv
    when it is installed, else a shim script that behaves like one."""
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = Path(subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip())
        if (root / "shims" / "python3.9").exists() and list(root.glob("versions/3.9.*")):
            others = sorted(p.name for p in root.glob("versions/*") if not p.name.startswith("3.9"))
            if others:
                path = [str(root / "shims"), str(Path(pyenv).parent)]
                return {
                    "PATH": os.pathsep.join([*path, "/usr/bin", "/bin"]),
                    "PYENV_ROOT": str(root),
                    "PYENV_VERSION": others[-1],
                }
    shims = tmp_path / "shims"
    shims.mkdir()
    (shims / "python3.9").write_text(FAKE_SHIM.format(python=python39()))
    (shims / "python3.9").chmod(0o755)
    return {"PATH": os.pathsep.join([str(shims), "/usr/bin", "/bin"]), "PYENV_VERSION": "3.11"}


def test_runs_under_pyenv_shims_with_another_version_selected(tmp_path: Path) -> None:
    env = {**base_env(), **shim_env(tmp_path)}
    plain = subprocess.run(["python3.9", "--version"], env=env, capture_output=True, text=True)
    assert plain.returncode != 0, "a plain python3.9 must fail here, or this proves nothing"
    assert "pyenv: python3.9: command not found" in plain.stderr
    done = launch(env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"pun version {pun.__version__}"


def test_runs_with_a_python39_on_path() -> None:
    env = {**base_env(), "PATH": os.pathsep.join([str(python39().parent), "/usr/bin", "/bin"])}
    done = launch(env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"pun version {pun.__version__}"
