"""`[pun-tool]`: the `pun` CLI as a PEX, for the sandboxed build and push processes.

Its requirements are pun's third-party dependencies (from the lockfile shipped here, or from a
resolve of yours with `install_from_resolve`); pun's own modules are added as sources, read from
the `pun` package this plugin imports, so the rules and the process run the same code.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any, Iterable, Tuple

from pants.backend.python.subsystems.python_tool_base import LockfileRules, PythonToolBase
from pants.backend.python.target_types import EntryPoint
from pants.backend.python.util_rules.pex import PexRequest, VenvPex
from pants.engine.fs import CreateDigest, Digest, FileContent
from pants.engine.rules import Get, collect_rules, rule
from pants.util.strutil import softwrap

import pun


class PunTool(PythonToolBase):
    options_scope = "pun-tool"
    name = "pun"
    help = softwrap(
        """
        The `pun` program that builds and pushes unikernel images inside Pants' sandbox. Its
        third-party requirements come from the lockfile shipped with the plugin; to use your own
        versions, set `install_from_resolve` to a resolve that provides them.
        """
    )

    default_version = "dockerfile==3.4.0"
    default_extra_requirements = [
        "protobuf>=6.31.1,<7",
        "requests>=2.28,<3",
        "isal>=1.7,<2",
        "PyYAML>=6,<7",
    ]
    default_requirements = [default_version, *default_extra_requirements]
    default_main = EntryPoint("pun.cli.main", "main")

    register_interpreter_constraints = True
    default_interpreter_constraints = ["CPython>=3.9,<3.14"]

    default_lockfile_resource = ("pun_rules.subsystems", "pun_tool.lock")
    lockfile_rules_type = LockfileRules.SIMPLE


@functools.lru_cache(maxsize=None)
def _pun_source_files() -> Tuple[FileContent, ...]:
    """pun's modules as they are installed next to this plugin (read once per process)."""
    package_dir = os.path.dirname(os.path.abspath(pun.__file__))
    root = os.path.dirname(package_dir)
    files = []
    for dirpath, dirnames, filenames in os.walk(package_dir):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for filename in sorted(filenames):
            if filename.endswith(".py"):
                path = os.path.join(dirpath, filename)
                with open(path, "rb") as handle:
                    files.append(FileContent(os.path.relpath(path, root), handle.read()))
    return tuple(files)


@dataclass(frozen=True)
class PunSources:
    digest: Digest


@dataclass(frozen=True)
class PunToolPex:
    pex: VenvPex


@rule
async def pun_sources() -> PunSources:
    return PunSources(await Get(Digest, CreateDigest(_pun_source_files())))


@rule(desc="Build the pun tool PEX")
async def pun_tool_pex(tool: PunTool, sources: PunSources) -> PunToolPex:
    request = tool.to_pex_request(sources=sources.digest)
    return PunToolPex(await Get(VenvPex, PexRequest, request))


def rules() -> Iterable[Any]:
    return [*collect_rules(), *PunTool.rules()]
