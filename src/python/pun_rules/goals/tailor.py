"""`pants tailor`: a `unikernel_image` for every Containerfile (or bunnyfile) that no target owns
yet, and a `files` target for the context files it takes (COPY sources, bunnyfile includes and
local kernel/rootfs paths) that no target owns (so the build context has them: dependency
inference then links the two)."""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Set

from pants.core.goals.tailor import (
    AllOwnedSources,
    PutativeTarget,
    PutativeTargets,
    PutativeTargetsRequest,
)
from pants.core.target_types import FilesGeneratorTarget
from pants.engine.fs import DigestContents, PathGlobs, Paths
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.unions import UnionRule
from pants.util.logging import LogLevel

from pun.api import GenerateOptions, read_plan
from pun.diagnostics import PunError
from pun.gopath import match_or_false
from pun_rules.subsystems.pun import PunSubsystem
from pun_rules.target_types import UnikernelImageSourceField, UnikernelImageTarget
from pun_rules.util_rules.copy_paths import normalize_source, source_matches
from pun_rules.util_rules.image_aliases import AddressPlaceholders

# `Containerfile`, `redis.Containerfile`, `Containerfile.redis` (as Docker does for Dockerfiles);
# bunny's `bunnyfile` (its docs name it so) and `redis.bunnyfile`.
BUNNYFILE = "bunnyfile"
PATTERNS = ("Containerfile", "*.Containerfile", "Containerfile.*", BUNNYFILE, "*.bunnyfile")
CONTEXT_TARGET = "context"  # the name of a proposed `files` target of COPY sources


@dataclass(frozen=True)
class PutativeUnikernelTargetsRequest(PutativeTargetsRequest):
    pass


def target_name(directory: str, filename: str, beside_containerfile: bool = False) -> str:
    """The directory's name for `Containerfile` (and `bunnyfile`, unless a `Containerfile` sits
    beside it and takes that name: then `bunnyfile`), else the file's other part (`redis`)."""
    if filename == UnikernelImageSourceField.default or (
        filename == BUNNYFILE and not beside_containerfile
    ):
        return os.path.basename(directory) or "unikernel"
    if filename == BUNNYFILE:
        return BUNNYFILE
    for suffix in (".Containerfile", ".bunnyfile"):
        if filename.endswith(suffix):
            return filename[: -len(suffix)]
    return filename[len("Containerfile.") :]


def copy_sources(text: str, path: str) -> List[str]:
    """The context-relative COPY sources of a Containerfile; none when pun cannot read it (the
    unikernel_image is still proposed: building it shows the error)."""
    try:
        # FROM //other:image reads as a placeholder (pun_rules.util_rules.image_aliases)
        plan = read_plan(text, GenerateOptions(path=path, image_aliases=AddressPlaceholders()))
    except PunError:
        return []
    return [normalize_source(source) for source in plan.copy_sources()]


def is_build_input(name: str) -> bool:
    """BUILD files, Containerfiles and bunnyfiles are never COPY sources worth a `files` target."""
    return name.startswith("BUILD") or any(match_or_false(p, name) for p in PATTERNS)


def context_sources(
    directory: str, sources: Iterable[str], files: Iterable[str], owned: Set[str]
) -> List[str]:
    """The files below `directory` that the COPY sources take and no target owns yet, relative
    to `directory` (the context root of a new unikernel_image)."""
    below = [posixpath.relpath(f, directory) if directory else f for f in files]
    taken = {
        rel
        for rel in below
        if not is_build_input(posixpath.basename(rel))
        and posixpath.join(directory, rel) not in owned
        and any(source_matches(source, rel) for source in sources)
    }
    return sorted(taken)


@rule(level=LogLevel.DEBUG, desc="Find Containerfiles without a unikernel_image target")
async def find_putative_unikernel_targets(
    request: PutativeUnikernelTargetsRequest, owned: AllOwnedSources, pun: PunSubsystem
) -> PutativeTargets:
    if not pun.tailor:
        return PutativeTargets()
    found = await Get(Paths, PathGlobs, request.path_globs(*PATTERNS))
    new = sorted(set(found.files) - set(owned))
    if not new:
        return PutativeTargets()
    directories = sorted({os.path.dirname(path) for path in new})
    contents, tree = await MultiGet(
        Get(DigestContents, PathGlobs(new)),
        Get(Paths, PathGlobs([posixpath.join(d, "**") if d else "**" for d in directories])),
    )
    texts = {c.path: c.content.decode("utf-8", "replace") for c in contents}
    owned_paths = set(owned)
    targets = []
    sources_by_directory: Dict[str, Set[str]] = {d: set() for d in directories}
    containerfiles = {
        path for path in found.files if os.path.basename(path) == UnikernelImageSourceField.default
    }
    for path in new:
        directory, filename = os.path.split(path)
        kwargs: Dict[str, str] = {}
        if filename != UnikernelImageSourceField.default:
            kwargs["source"] = filename
        beside = posixpath.join(directory, UnikernelImageSourceField.default) in containerfiles
        targets.append(
            PutativeTarget.for_target_type(
                UnikernelImageTarget,
                path=directory,
                name=target_name(directory, filename, beside),
                triggering_sources=[filename],
                kwargs=kwargs,
            )
        )
        sources_by_directory[directory].update(copy_sources(texts.get(path, ""), path))
    for directory, sources in sorted(sources_by_directory.items()):
        below = [f for f in tree.files if not directory or f.startswith(directory + "/")]
        taken = context_sources(directory, sources, below, owned_paths)
        if taken:
            targets.append(
                PutativeTarget.for_target_type(
                    FilesGeneratorTarget,
                    path=directory,
                    name=CONTEXT_TARGET,
                    triggering_sources=taken,
                    kwargs={"sources": tuple(taken)},
                    comments=["# The files the COPY instructions take (build context)."],
                )
            )
    return PutativeTargets(targets)


def rules() -> Iterable[Any]:
    return [*collect_rules(), UnionRule(PutativeTargetsRequest, PutativeUnikernelTargetsRequest)]
