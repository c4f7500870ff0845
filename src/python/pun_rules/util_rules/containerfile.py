"""Read a target's Containerfile with the pun core: its build args and its PackPlan.

The plan drives dependency inference and the build-context check; the text goes on to LLB
generation. Reading happens in-process (pure Python), so there is no process to cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Tuple

from pants.core.util_rules.source_files import SourceFiles, SourceFilesRequest
from pants.engine.addresses import Address
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.fs import Digest, DigestContents
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import WrappedTarget, WrappedTargetRequest
from pants.util.frozendict import FrozenDict

from pun.api import GenerateOptions, read_plan
from pun.containerfile.plan import BaseUnknownError, PackPlan
from pun.diagnostics import PunError
from pun.keyvalue import bare_keys, parse_pairs
from pun.platform import DEFAULT_TARGET, Platform, parse_platform
from pun_rules.errors import UnikernelImageError
from pun_rules.subsystems.pun import PunSubsystem
from pun_rules.target_types import (
    UnikernelImageBuildArgsField,
    UnikernelImagePlatformField,
    UnikernelImagePlatformsField,
    UnikernelImageSourceField,
)
from pun_rules.util_rules.image_aliases import AddressPlaceholders


@dataclass(frozen=True)
class BuildArgsRequest:
    address: Address


@dataclass(frozen=True)
class BuildArgs:
    values: FrozenDict[str, str]

    def argv(self) -> Tuple[str, ...]:
        return tuple(f"--build-arg={k}={v}" for k, v in sorted(self.values.items()))


@rule
async def resolve_build_args(request: BuildArgsRequest, pun: PunSubsystem) -> BuildArgs:
    wrapped = await Get(
        WrappedTarget,
        WrappedTargetRequest(request.address, description_of_origin="<pun build args>"),
    )
    entries = (*pun.build_args, *(wrapped.target[UnikernelImageBuildArgsField].value or ()))
    # `KEY` alone copies KEY from Pants' environment; a later entry overrides an earlier one.
    env = await Get(EnvironmentVars, EnvironmentVarsRequest(bare_keys(entries)))
    try:
        values = parse_pairs(entries, "build_args", env)
    except PunError as exc:
        raise UnikernelImageError.from_pun(request.address, exc) from None
    return BuildArgs(FrozenDict(values))


@dataclass(frozen=True)
class ContainerfileRequest:
    address: Address


@dataclass(frozen=True)
class ContainerfileInfo:
    address: Address
    path: str  # relative to the build root
    digest: Digest  # the Containerfile alone, at `path`
    text: str
    plan: PackPlan
    build_args: BuildArgs
    platform: Platform  # the image's: the target's `platform`, a bunnyfile's architecture
    platform_given: bool = False  # the target sets `platform` (or `platforms`)
    # `platforms=[...]`: one plan per platform (their COPY sources may differ by TARGETARCH);
    # `platform` and `plan` are the first's.
    platforms: Tuple[Platform, ...] = ()
    plans: Tuple[PackPlan, ...] = ()

    @property
    def multi_platform(self) -> bool:
        return len(self.platforms) > 1

    def context_sources(self) -> Tuple[Tuple[str, str, int], ...]:
        """What every platform's plan reads from the build context, each once
        (PackPlan.context_sources; for inference and the COPY check)."""
        plans = self.plans or (self.plan,)
        return tuple(dict.fromkeys(s for plan in plans for s in plan.context_sources()))

    def generate_options(
        self,
        unique_id: str,
        strict: bool,
        context_excludes: Tuple[str, ...] = (),
        image_aliases: Mapping[str, str] = {},
        platform: Optional[Platform] = None,
    ) -> GenerateOptions:
        return GenerateOptions(
            path=self.path,
            build_args=dict(self.build_args.values),
            target_platform=platform or self.platform,
            platform_given=self.platform_given,
            local_unique_id=unique_id,
            strict=strict,
            context_excludes=context_excludes,
            image_aliases=image_aliases,
        )


@rule(desc="Read a Containerfile")
async def containerfile_info(request: ContainerfileRequest) -> ContainerfileInfo:
    wrapped = await Get(
        WrappedTarget,
        WrappedTargetRequest(request.address, description_of_origin="<pun containerfile>"),
    )
    target = wrapped.target
    sources, build_args = await MultiGet(
        Get(SourceFiles, SourceFilesRequest([target[UnikernelImageSourceField]])),
        Get(BuildArgs, BuildArgsRequest(request.address)),
    )
    contents = await Get(DigestContents, Digest, sources.snapshot.digest)
    (file,) = contents
    try:
        text = file.content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnikernelImageError(
            request.address,
            f"{file.path}: the Containerfile is not UTF-8 text (byte {exc.start})",
            "save it as UTF-8",
        ) from None
    platform_text = target[UnikernelImagePlatformField].value
    platforms_value = target[UnikernelImagePlatformsField].value
    if platform_text and platforms_value:
        raise UnikernelImageError(
            request.address,
            "`platform` and `platforms` are both set",
            "keep one: `platforms=[...]` for a multi-platform image index",
        )
    if platforms_value:
        platforms = tuple(parse_platform(p) for p in platforms_value)
    else:
        platforms = (parse_platform(platform_text) if platform_text else DEFAULT_TARGET,)
    given = bool(platform_text or platforms_value)
    try:
        plans = tuple(
            _inference_plan(
                text,
                GenerateOptions(
                    path=file.path,
                    build_args=dict(build_args.values),
                    target_platform=platform,
                    platform_given=given,
                    # FROM //other:image reads before the upstream is built (pun_rules
                    # upstream_images)
                    image_aliases=AddressPlaceholders(),
                ),
            )
            for platform in platforms
        )
    except PunError as exc:
        raise UnikernelImageError.from_pun(request.address, exc) from None
    # A bunnyfile's `architecture` is the platform when the target names none.
    platforms = tuple(plan.platform or p for plan, p in zip(plans, platforms))
    return ContainerfileInfo(
        request.address,
        file.path,
        sources.snapshot.digest,
        text,
        plans[0],
        build_args,
        platforms[0],
        given,
        platforms,
        plans,
    )


def _inference_plan(text: str, options: GenerateOptions) -> PackPlan:
    """The plan dependency inference reads: after FROM <image>, an error the base's config may
    lift is left to prepare_build (pun.api.BasePlanner resolves the base and plans again), and
    the plan read past it still names every COPY source and image."""
    try:
        return read_plan(text, options)
    except BaseUnknownError as exc:
        return exc.plan


def rules() -> Iterable[Any]:
    return collect_rules()
