"""`pants package` for `unikernel_image`: run the build process, describe the result.

The archive is the process's output file, so Pants' process cache (local or remote) holds every
image, and an unchanged image is never rebuilt, with or without pantsd.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from pants.core.goals.package import BuiltPackage, BuiltPackageArtifact, PackageFieldSet
from pants.engine.addresses import Address
from pants.engine.fs import (
    CreateDigest,
    Digest,
    DigestContents,
    DigestSubset,
    FileContent,
    MergeDigests,
    PathGlobs,
)
from pants.engine.process import FallibleProcessResult, Process
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.unions import UnionRule
from pants.util.logging import LogLevel

from pun_rules.errors import UnikernelImageError
from pun_rules.field_sets import UnikernelImageFieldSet, metadata_path
from pun_rules.image_info import ImageInfo
from pun_rules.registries import Registry
from pun_rules.target_types import DOCKER
from pun_rules.util_rules.build_process import METADATA_FILE, UnikernelBuildProcess
from pun_rules.util_rules.build_request import UnikernelBuildRequest
from pun_rules.util_rules.image_refs import ImageName


@dataclass(frozen=True)
class RegistryPush:
    """The names `publish` pushes to one registry, with one `pun push`."""

    registry: str  # its address; "" when the names are the repository's own
    names: Tuple[str, ...]
    insecure: bool = False
    skip_reason: str = ""  # why `publish` leaves these names alone, if it does


@dataclass(frozen=True)
class BuiltUnikernelImage(BuiltPackageArtifact):
    """An image archive `publish` can push (of a `unikernel_image` or a `pun_frontend_image`)."""

    image_digest: str = ""
    names: Tuple[str, ...] = ()
    pushes: Tuple[RegistryPush, ...] = ()


@rule(desc="Package a unikernel image", level=LogLevel.DEBUG)
async def package_unikernel_image(field_set: UnikernelImageFieldSet) -> BuiltPackage:
    request = await Get(UnikernelBuildRequest, UnikernelImageFieldSet, field_set)
    build = await Get(UnikernelBuildProcess, UnikernelBuildRequest, request)
    result = await Get(FallibleProcessResult, Process, build.process)
    if result.exit_code != 0:
        raise UnikernelImageError(
            request.address,
            f"`pun build` failed (exit code {result.exit_code}):\n"
            + result.stderr.decode("utf-8", "replace").rstrip(),
        )
    archive, metadata = await MultiGet(
        Get(Digest, DigestSubset(result.output_digest, PathGlobs([request.archive]))),
        Get(DigestContents, DigestSubset(result.output_digest, PathGlobs([METADATA_FILE]))),
    )
    built = json.loads(metadata[0].content)
    image_json = metadata_path(request.archive)
    info = image_info(request, built)
    described = await Get(Digest, CreateDigest([FileContent(image_json, info.to_bytes())]))
    digest = await Get(Digest, MergeDigests([archive, described]))
    artifact = built_image("unikernel image", request.address, info, request.names)
    return BuiltPackage(digest, (artifact, BuiltPackageArtifact(relpath=image_json)))


def built_image(
    kind: str, address: Address, info: ImageInfo, names: Tuple[ImageName, ...]
) -> BuiltUnikernelImage:
    """The archive's artifact: what `package` logs and what `publish` pushes."""
    return BuiltUnikernelImage(
        relpath=info.archive,
        extra_log_lines=(
            f"Built {kind} {address}: {info.digest}",
            *(f"    {name.name}" for name in names),
        ),
        image_digest=info.digest,
        names=tuple(n.name for n in names),
        pushes=pushes(names),
    )


def image_info(request: UnikernelBuildRequest, built: Mapping[str, Any]) -> ImageInfo:
    """`NAME.image.json` of a unikernel_image, from the request and `pun build`'s metadata."""
    image = request.image.with_annotations(request.annotations)
    oci = request.output != DOCKER
    return ImageInfo(
        kind="unikernel_image",
        address=str(request.address),
        archive=request.archive,
        digest=str(built.get("containerimage.digest") or ""),
        config_digest=str(built.get("containerimage.config.digest") or ""),
        names=tuple(n.name for n in request.names),
        labels=request.image.labels(),
        annotations=image.manifest_annotations if oci else {},
        platform=str(request.containerfile.platform),
        output=request.output,
        pants_hash=request.pants_hash,
        platforms=tuple(platform_images(request, built)),
    )


def platform_images(
    request: UnikernelBuildRequest, built: Mapping[str, Any]
) -> List[Dict[str, Any]]:
    """`NAME.image.json`'s `platforms`: per platform, in the index's order, its manifest and
    config digests, labels and manifest annotations (which differ where the Containerfile makes
    them differ). One entry, the image itself, for a single-platform image; for several,
    `digest` is the index's and `platform`/`labels`/`annotations` describe the first."""
    oci = request.output != DOCKER
    if not request.containerfile.multi_platform:
        digests = {
            str(request.containerfile.platform): {
                "containerimage.digest": built.get("containerimage.digest"),
                "containerimage.config.digest": built.get("containerimage.config.digest"),
            }
        }
    else:
        digests = {p.get("platform"): p for p in built.get("pun.platforms") or ()}
    out = []
    for planned in request.platform_plans:
        found = digests.get(str(planned.platform)) or {}
        image = planned.image.with_annotations(request.annotations)
        out.append(
            {
                "platform": str(planned.platform),
                "digest": found.get("containerimage.digest"),
                "config_digest": found.get("containerimage.config.digest"),
                "labels": planned.image.labels(),
                "annotations": image.manifest_annotations if oci else {},
            }
        )
    return out


def names_a_registry(name: str) -> bool:
    """Does `name` start with a registry (`host.domain/`, `host:port/`, `localhost/`)?"""
    head, slash, _ = name.partition("/")
    return bool(slash) and (any(c in head for c in ".:") or head == "localhost")


def pushes(names: Tuple[ImageName, ...]) -> Tuple[RegistryPush, ...]:
    """The names grouped by registry, in order, with the reason to skip a group, if any."""
    groups: Dict[Optional[Registry], List[str]] = {}
    for name in names:
        groups.setdefault(name.registry, []).append(name.name)
    out = []
    for registry, values in groups.items():
        if registry is not None:
            reason = ""
            if registry.skip_push:
                reason = f"(by `skip_push` on registry {registry.address})"
            out.append(RegistryPush(registry.address, tuple(values), registry.insecure, reason))
            continue
        # A bare `repository:tag` would mean Docker Hub: never push there by accident.
        bare = tuple(v for v in values if not names_a_registry(v))
        named = tuple(v for v in values if names_a_registry(v))
        if named:
            out.append(RegistryPush("", named))
        if bare:
            reason = "(no registry: set `registries`, or a `repository` that starts with one)"
            out.append(RegistryPush("", bare, skip_reason=reason))
    return tuple(out)


def rules() -> Iterable[Any]:
    return [*collect_rules(), UnionRule(PackageFieldSet, UnikernelImageFieldSet)]
