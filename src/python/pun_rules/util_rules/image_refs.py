"""Image names (`REGISTRY/REPOSITORY:TAG`) from the target's fields, with placeholders filled in."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Optional, Tuple

from pants.engine.addresses import Address
from pants.util.value_interpolation import InterpolationContext, InterpolationError

import pun
from pun.reference import InvalidReference, normalize
from pun_rules.errors import UnikernelImageError
from pun_rules.registries import Registry


@dataclass(frozen=True)
class ImageName:
    registry: Optional[Registry]  # None: the repository is the whole name
    name: str  # REGISTRY/REPOSITORY:TAG


def interpolation_context(
    address: Address, build_args: Mapping[str, str], pants_hash: str
) -> InterpolationContext:
    directory = os.path.basename(address.spec_path)
    parent = os.path.basename(os.path.dirname(address.spec_path))
    return InterpolationContext.from_dict(
        {
            "name": address.target_name,
            "directory": directory,
            "parent_directory": parent,
            "build_args": dict(build_args),
            "pants": {"hash": pants_hash},
            "pun": {"version": pun.__version__},
        }
    )


def _format(
    context: InterpolationContext, text: str, address: Address, field: str, alias: str
) -> str:
    source = InterpolationContext.TextSource(address=address, target_alias=alias, field_alias=field)
    try:
        return context.format(text, source=source)
    except InterpolationError as exc:
        raise UnikernelImageError(
            address,
            str(exc),
            f"use one of the placeholders listed in `pants help {alias}`",
            alias=alias,
        ) from None


def image_names(
    address: Address,
    context: InterpolationContext,
    repository: str,
    tags: Tuple[str, ...],
    registries: Tuple[Registry, ...],
    alias: str = "unikernel_image",
) -> Tuple[ImageName, ...]:
    repo = _format(context, repository, address, "repository", alias)
    formatted_tags = [_format(context, tag, address, "image_tags", alias) for tag in tags]
    names = []
    for registry in registries or (None,):
        for tag in formatted_tags:
            base = f"{registry.address}/{repo}" if registry else repo
            name = f"{base}:{tag}"
            try:
                normalize(name)
            except InvalidReference as exc:
                raise UnikernelImageError(
                    address,
                    f"the image name {name!r} is not valid: {exc}",
                    "repositories are lowercase letters, digits and separators (. _ - /); tags "
                    "are up to 128 of [A-Za-z0-9_.-]; set `repository`/`image_tags` accordingly",
                    alias=alias,
                ) from None
            names.append(ImageName(registry, name))
    return tuple(names)
