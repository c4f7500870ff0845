"""`pants run` for `unikernel_image`: package it, then `pun run ARCHIVE` boots it on this host
the way urunc would (see `pun run --help`; arguments after `--` go to `pun run`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterable

from pants.backend.python.util_rules.pex import VenvPex, VenvPexRequest
from pants.backend.python.util_rules.pex_environment import PexEnvironment
from pants.core.goals.package import BuiltPackage
from pants.core.goals.run import RunFieldSet, RunInSandboxBehavior, RunRequest
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.fs import Digest, MergeDigests
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import WrappedTarget, WrappedTargetRequest

from pun_rules.field_sets import UnikernelImageFieldSet
from pun_rules.subsystems.pun_tool import PunSources, PunTool
from pun_rules.target_types import UnikernelImageSourceField


@dataclass(frozen=True)
class UnikernelImageRunFieldSet(RunFieldSet):
    required_fields = (UnikernelImageSourceField,)
    run_in_sandbox_behavior = RunInSandboxBehavior.RUN_REQUEST_HERMETIC

    source: UnikernelImageSourceField


def _in_chroot(relpath: str) -> str:
    return os.path.join("{chroot}", relpath)


@rule(desc="Set up `pun run` for a unikernel image")
async def run_unikernel_image(
    field_set: UnikernelImageRunFieldSet,
    tool: PunTool,
    sources: PunSources,
    pex_env: PexEnvironment,
) -> RunRequest:
    wrapped = await Get(
        WrappedTarget,
        WrappedTargetRequest(field_set.address, description_of_origin="<pun run>"),
    )
    environment = pex_env.in_sandbox(working_directory=None)
    package, venv, path = await MultiGet(
        Get(BuiltPackage, UnikernelImageFieldSet, UnikernelImageFieldSet.create(wrapped.target)),
        Get(VenvPex, VenvPexRequest(tool.to_pex_request(sources=sources.digest), environment)),
        Get(EnvironmentVars, EnvironmentVarsRequest(["PATH"])),
    )
    digest = await Get(Digest, MergeDigests([package.digest, venv.digest]))
    archive = package.artifacts[0].relpath
    assert archive is not None
    return RunRequest(
        digest=digest,
        args=[_in_chroot(venv.pex.argv0), "run", _in_chroot(archive)],
        # The monitor (qemu-system-*, solo5-hvt, firecracker) is looked up on the user's PATH.
        extra_env={**environment.environment_dict(python=None), "PATH": path.get("PATH", "")},
        append_only_caches=environment.append_only_caches,
    )


def rules() -> Iterable[Any]:
    return [*collect_rules(), *UnikernelImageRunFieldSet.rules()]
