"""`[pun-frontend-freezer]`: PyInstaller, pun and pun's runtime packages as one PEX, whose main
freezes pun into the frontend image (`pun_rules/sandbox/freeze_frontend.py`).

The requirements come from the lockfile shipped here; pun's modules are those of the `pun`
package this plugin imports (as for `[pun-tool]`), so the image holds the pun the rules run.
The system tools PyInstaller calls (`ldd`, `objdump`, `strip`) are looked up once; their
versions and the interpreter's fingerprint become part of the process's cache key (glibc and
libpython are copied into the image). Other system libraries the bundle needs (zlib) are not:
after upgrading one, rebuild with `--no-local-cache`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterable, Tuple

from pants.backend.python.subsystems.python_tool_base import LockfileRules, PythonToolBase
from pants.backend.python.target_types import EntryPoint
from pants.backend.python.util_rules.interpreter_constraints import InterpreterConstraints
from pants.backend.python.util_rules.pex import PexRequest, VenvPex
from pants.backend.python.util_rules.pex_environment import PythonExecutable
from pants.core.util_rules.system_binaries import (
    SEARCH_PATHS,
    BinaryPath,
    BinaryPathRequest,
    BinaryPaths,
    BinaryPathTest,
)
from pants.engine.fs import CreateDigest, Digest, FileContent, MergeDigests
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.util.strutil import softwrap

import pun_rules
from pun_rules.sandbox import freeze_frontend
from pun_rules.subsystems.pun_tool import PunSources

# PyInstaller runs these; binutils (objdump, strip) comes with gcc, ldd with glibc.
SYSTEM_TOOLS = ("ldd", "objdump", "strip")


class PunFrontendFreezer(PythonToolBase):
    options_scope = "pun-frontend-freezer"
    name = "PyInstaller"
    help = softwrap(
        """
        PyInstaller and pun's runtime packages, which freeze pun into the BuildKit frontend
        image of `pun_frontend_image` targets. The requirements come from the lockfile shipped
        with the plugin; the interpreter that runs PyInstaller is the one frozen into the image.
        """
    )

    default_version = "pyinstaller==6.22.3"
    default_extra_requirements = [
        "pyinstaller-hooks-contrib==2026.9",
        "grpcio==1.74.0",
        "protobuf>=6.31.1,<7",
        "dockerfile==3.4.0",
        "PyYAML>=6,<7",
    ]
    default_requirements = [default_version, *default_extra_requirements]
    default_main = EntryPoint("pun_rules.sandbox.freeze_frontend")

    register_interpreter_constraints = True
    # Pants 2.17 itself needs CPython 3.9, so it is on every machine that runs these rules.
    default_interpreter_constraints = ["CPython==3.9.*"]

    default_lockfile_resource = ("pun_rules.subsystems", "pun_frontend_freezer.lock")
    lockfile_rules_type = LockfileRules.SIMPLE


def _module_file(module_file: str) -> FileContent:
    """A module of this plugin, at its path below the plugin's source root."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(pun_rules.__file__)))
    path = os.path.abspath(module_file)
    with open(path, "rb") as handle:
        return FileContent(os.path.relpath(path, root), handle.read())


@dataclass(frozen=True)
class FrontendFreezerPex:
    pex: VenvPex
    tools_path: str  # PATH for PyInstaller: the directories of SYSTEM_TOOLS
    fingerprint: str  # the tools' `--version` hashes and the interpreter's, for the cache key


def _tools(found: Tuple[BinaryPaths, ...]) -> Tuple[BinaryPath, ...]:
    paths = []
    for tool in found:
        if tool.first_path is None:
            searched = ", ".join(SEARCH_PATHS)
            raise EnvironmentError(
                f"pun_frontend_image needs `{tool.binary_name}` (searched {searched}): "
                "install binutils and libc-bin (Debian: `apt-get install binutils`)"
            )
        paths.append(tool.first_path)
    return tuple(paths)


@rule(desc="Build the pun frontend freezer PEX")
async def frontend_freezer_pex(tool: PunFrontendFreezer, sources: PunSources) -> FrontendFreezerPex:
    script = await Get(
        Digest,
        CreateDigest(
            [
                _module_file(pun_rules.__file__),
                _module_file(freeze_frontend.__file__),
                FileContent("pun_rules/sandbox/__init__.py", b""),
            ]
        ),
    )
    merged = await Get(Digest, MergeDigests([sources.digest, script]))
    found = await MultiGet(
        Get(
            BinaryPaths,
            BinaryPathRequest(
                binary_name=name,
                search_path=SEARCH_PATHS,
                test=BinaryPathTest(args=["--version"], fingerprint_stdout=True),
            ),
        )
        for name in SYSTEM_TOOLS
    )
    pex, python = await MultiGet(
        Get(VenvPex, PexRequest, tool.to_pex_request(sources=merged)),
        Get(PythonExecutable, InterpreterConstraints, tool.interpreter_constraints),
    )
    tools = _tools(found)
    directories = dict.fromkeys(os.path.dirname(t.path) for t in tools)
    return FrontendFreezerPex(
        pex=pex,
        tools_path=os.pathsep.join(directories),
        fingerprint=",".join(f"{t.path}={t.fingerprint}" for t in (*tools, python)),
    )


def rules() -> Iterable[Any]:
    return [*collect_rules(), *PunFrontendFreezer.rules()]
