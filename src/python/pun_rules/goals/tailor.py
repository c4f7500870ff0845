"""`pants tailor`: a `unikernel_image` for every Containerfile that no target owns yet."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, Iterable

from pants.core.goals.tailor import (
    AllOwnedSources,
    PutativeTarget,
    PutativeTargets,
    PutativeTargetsRequest,
)
from pants.engine.fs import PathGlobs, Paths
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.unions import UnionRule
from pants.util.logging import LogLevel

from pun_rules.subsystems.pun import PunSubsystem
from pun_rules.target_types import UnikernelImageSourceField, UnikernelImageTarget

# `Containerfile`, `redis.Containerfile`, `Containerfile.redis` (as Docker does for Dockerfiles).
PATTERNS = ("Containerfile", "*.Containerfile", "Containerfile.*")


@dataclass(frozen=True)
class PutativeUnikernelTargetsRequest(PutativeTargetsRequest):
    pass


def target_name(directory: str, filename: str) -> str:
    """The directory's name for `Containerfile`, else the file's other part (`redis`)."""
    if filename == UnikernelImageSourceField.default:
        return os.path.basename(directory) or "unikernel"
    if filename.endswith(".Containerfile"):
        return filename[: -len(".Containerfile")]
    return filename[len("Containerfile.") :]


@rule(level=LogLevel.DEBUG, desc="Find Containerfiles without a unikernel_image target")
async def find_putative_unikernel_targets(
    request: PutativeUnikernelTargetsRequest, owned: AllOwnedSources, pun: PunSubsystem
) -> PutativeTargets:
    if not pun.tailor:
        return PutativeTargets()
    found = await Get(Paths, PathGlobs, request.path_globs(*PATTERNS))
    targets = []
    for path in sorted(set(found.files) - set(owned)):
        directory, filename = os.path.split(path)
        kwargs: Dict[str, str] = {}
        if filename != UnikernelImageSourceField.default:
            kwargs["source"] = filename
        targets.append(
            PutativeTarget.for_target_type(
                UnikernelImageTarget,
                path=directory,
                name=target_name(directory, filename),
                triggering_sources=[filename],
                kwargs=kwargs,
            )
        )
    return PutativeTargets(targets)


def rules() -> Iterable[Any]:
    return [*collect_rules(), UnionRule(PutativeTargetsRequest, PutativeUnikernelTargetsRequest)]
