"""Monorepo layering: a `FROM` or `COPY --from` that names another `unikernel_image`.

As Pants' docker backend does for `docker_image` (backend/docker/util_rules/dependencies.py
infers a dependency on the target a FROM names; docker_build_context.py builds those upstream
images first and hands them to `docker build`), the name may be the target's address
(`//examples/base:img`, `examples/base:img`, `:img`; also through an ARG) or a name the target
produces (`examples/base:latest`, with its registry or without). Such a target is an inferred
dependency; it is packaged first, and its OCI archive goes into the build's sandbox with
`pun build --image-archive`, so no registry is involved. The LLB names the image by that name
pinned to the digest it was built with (`examples/base:latest@sha256:…`): a change to the base
changes the Definition of every image above it, which Pants then rebuilds, and nothing else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Tuple

from pants.core.goals.package import BuiltPackage, EnvironmentAwarePackageRequest
from pants.engine.addresses import Address, Addresses, UnparsedAddressInputs
from pants.engine.fs import AddPrefix, Digest, DigestSubset, MergeDigests, PathGlobs
from pants.engine.internals.native_engine import EMPTY_DIGEST
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import AllTargets, Target, Targets
from pants.util.frozendict import FrozenDict

from pun.reference import InvalidReference, normalize
from pun_rules.errors import UnikernelImageError
from pun_rules.field_sets import UnikernelImageFieldSet
from pun_rules.subsystems.pun import PunSubsystem
from pun_rules.target_types import (
    UnikernelImageBuildArgsField,
    UnikernelImageRegistriesField,
    UnikernelImageRepositoryField,
    UnikernelImageTagsField,
)
from pun_rules.util_rules.containerfile import ContainerfileInfo, ContainerfileRequest
from pun_rules.util_rules.image_refs import image_names, interpolation_context

logger = logging.getLogger(__name__)

# Where the upstream archives sit in the build process's sandbox.
UPSTREAM_DIR = ".pun-upstream"


def _may_be_address(name: str) -> bool:
    """Worth asking Pants about: no digest, no registry host in front."""
    if "@" in name:
        return False
    head, slash, _ = name.lstrip("/").partition("/")
    return not (slash and ("." in head or ":" in head or head == "localhost"))


def produced_names(target: Target, pun_options: PunSubsystem) -> Tuple[str, ...]:
    """The names `target` is built with that do not depend on the build itself (a tag with
    `{pants.hash}` is only known after building, so it cannot be named in a FROM)."""
    address = target.address
    build_args = {}
    for entry in target[UnikernelImageBuildArgsField].value or ():
        key, has_value, value = entry.partition("=")
        if has_value:
            build_args[key] = value
    context = interpolation_context(address, build_args, "")
    repository = target[UnikernelImageRepositoryField].value or pun_options.default_repository
    registries = pun_options.registries().select(
        tuple(target[UnikernelImageRegistriesField].value or ()), f"unikernel_image {address}"
    )
    names: List[str] = []
    for tag in target[UnikernelImageTagsField].value or ():
        if "pants.hash" in tag:
            continue
        try:
            names.extend(
                n.name for n in image_names(address, context, repository, (tag,), registries)
            )
        except UnikernelImageError:
            continue  # a placeholder this context cannot fill: not nameable from a FROM
    return tuple(names)


def _same_image(written: str, produced: str) -> bool:
    try:
        return str(normalize(written)) == str(normalize(produced))
    except InvalidReference:
        return False


@dataclass(frozen=True)
class UpstreamImagesRequest:
    address: Address


@dataclass(frozen=True)
class UpstreamImageTargets:
    """FROM / COPY --from names (as written) -> the unikernel_image each one means."""

    by_name: FrozenDict[str, Address]


@rule(desc="Find the unikernel images a Containerfile builds on")
async def find_upstream_images(
    request: UpstreamImagesRequest, all_targets: AllTargets, pun_options: PunSubsystem
) -> UpstreamImageTargets:
    info = await Get(ContainerfileInfo, ContainerfileRequest(request.address))
    names = sorted({name for name, _ in info.plan.image_names()})
    if not names:
        return UpstreamImageTargets(FrozenDict())
    images = {
        t.address: t
        for t in all_targets
        if UnikernelImageFieldSet.is_applicable(t) and t.address != request.address
    }
    askable = [n for n in names if _may_be_address(n)]
    parsed = await MultiGet(
        Get(
            Addresses,
            UnparsedAddressInputs(
                [name],
                owning_address=request.address,
                description_of_origin=f"the FROM / COPY --from names of {info.path}",
                skip_invalid_addresses=True,
            ),
        )
        for name in askable
    )
    by_address = {name: [a for a in found if a in images] for name, found in zip(askable, parsed)}
    by_name: Dict[str, Address] = {}
    for name in names:
        hits = by_address.get(name) or []
        if not hits and "@" not in name:
            hits = [
                a
                for a, t in sorted(images.items())
                if any(_same_image(name, p) for p in produced_names(t, pun_options))
            ]
        if len(hits) == 1:
            by_name[name] = hits[0]
        elif hits:
            logger.warning(
                f"unikernel_image {request.address}: {info.path} names `{name}`, which "
                f"{len(hits)} unikernel_images produce ({', '.join(map(str, hits))}); none is "
                "used: name one of them by its address"
            )
    return UpstreamImageTargets(FrozenDict(by_name))


@dataclass(frozen=True)
class UpstreamImage:
    name: str  # as written in FROM / COPY --from
    address: Address
    reference: str  # the name the LLB uses: a name the image has, pinned to its digest
    archive: str  # in the sandbox, under UPSTREAM_DIR

    def argv(self) -> str:
        return f"--image-archive={self.reference}={self.archive}"


@dataclass(frozen=True)
class UpstreamImages:
    images: Tuple[UpstreamImage, ...]
    digest: Digest  # the archives, at their sandbox paths

    def aliases(self) -> Dict[str, str]:
        return {image.name: image.reference for image in self.images}


def upstream_reference(address: Address, names: Tuple[str, ...], digest: str) -> str:
    """`NAME@sha256:…` with the upstream's first name, or one made from its address."""
    if names:
        name = names[0]
    else:
        path = address.spec_path.replace("_", "-").lower() or "root"
        name = f"pun.local/{path}/{address.target_name.lower()}:latest"
    return f"{name}@{digest}"


@rule(desc="Build the unikernel images a Containerfile builds on")
async def build_upstream_images(request: UpstreamImagesRequest) -> UpstreamImages:
    targets = await Get(UpstreamImageTargets, UpstreamImagesRequest, request)
    if not targets.by_name:
        return UpstreamImages((), EMPTY_DIGEST)
    addresses = sorted(set(targets.by_name.values()))
    upstream_targets = await Get(Targets, Addresses(addresses))
    field_sets = [UnikernelImageFieldSet.create(t) for t in upstream_targets]
    packages = await MultiGet(
        Get(BuiltPackage, EnvironmentAwarePackageRequest(field_set)) for field_set in field_sets
    )
    by_address: Dict[Address, UpstreamImage] = {}
    digests = []
    for address, package in zip(addresses, packages):
        artifact = next((a for a in package.artifacts if getattr(a, "image_digest", "")), None)
        if artifact is None or artifact.relpath is None:
            raise UnikernelImageError(
                request.address,
                f"the upstream image {address} built no image archive",
            )
        archive = f"{UPSTREAM_DIR}/{artifact.relpath}"
        only = await Get(Digest, DigestSubset(package.digest, PathGlobs([artifact.relpath])))
        digests.append(await Get(Digest, AddPrefix(only, UPSTREAM_DIR)))
        reference = upstream_reference(
            address, tuple(getattr(artifact, "names", ())), getattr(artifact, "image_digest")
        )
        by_address[address] = UpstreamImage("", address, reference, archive)
    images = tuple(
        UpstreamImage(name, a, by_address[a].reference, by_address[a].archive)
        for name, a in sorted(targets.by_name.items())
    )
    return UpstreamImages(images, await Get(Digest, MergeDigests(digests)))


def rules() -> Iterable[Any]:
    return collect_rules()
