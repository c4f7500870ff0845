"""Everything a unikernel image build needs, derived in-rule: the checked build context, the
LLB (pun core, `local.unique` = the context Digest's fingerprint, so identical inputs give
identical bytes), `{pants.hash}` and the image names. No process runs, except `pun base-config`
(cached) for a plan whose meaning depends on the FROM image's config (util_rules/base_config).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Sequence, Set, Tuple

from pants.engine.addresses import Address
from pants.engine.fs import CreateDigest, Digest, FileContent
from pants.engine.internals.native_engine import EMPTY_DIGEST
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import Target, WrappedTarget, WrappedTargetRequest
from pants.util.frozendict import FrozenDict

import pun
from pun.api import BasePlanner
from pun.buildplan import spec_file_bytes
from pun.diagnostics import Diagnostic, PunError
from pun.imagespec import ImageSpec
from pun.platform import Platform, platform_key
from pun_rules.errors import UnikernelImageError
from pun_rules.field_sets import UnikernelImageFieldSet
from pun_rules.subsystems.pun import Builder, PunSubsystem
from pun_rules.target_types import DOCKER, PunBuildOptionField
from pun_rules.util_rules.base_config import ResolvedBaseConfig, base_config_request
from pun_rules.util_rules.containerfile import ContainerfileInfo, ContainerfileRequest
from pun_rules.util_rules.context import BuildContext, BuildContextRequest, check_copy_sources
from pun_rules.util_rules.image_refs import ImageName, image_names, interpolation_context
from pun_rules.util_rules.upstream_images import UpstreamImages, UpstreamImagesRequest

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlatformPlan:
    """One platform's planned build, and where its two files sit in the sandbox."""

    platform: Platform
    definition: bytes
    image: ImageSpec
    definition_file: str
    spec_file: str


@dataclass(frozen=True)
class UnikernelBuildRequest:
    """Everything the build process needs; `prepare_build` makes it from a field set."""

    address: Address
    containerfile: ContainerfileInfo
    context: BuildContext
    definition: bytes
    image: ImageSpec  # the image spec generate() returned with the definition
    # The Definition and the image spec file, as `pun build --definition/--image-spec` reads
    # them: the build process builds exactly what was planned (and hashed) here.
    plan: Digest
    unique_id: str
    pants_hash: str
    names: Tuple[ImageName, ...]
    archive: str
    output: str
    annotations: FrozenDict[str, str]
    squash: bool
    strict: bool
    # FROM / COPY --from images built from other unikernel_images, given as archives.
    upstream: UpstreamImages = UpstreamImages((), EMPTY_DIGEST)
    # The `pun build` flags of the target's PunBuildOptionFields, in alias order.
    build_options: Tuple[str, ...] = ()
    # Every platform's plan, in the index's order (one entry, the above, for one platform).
    platform_plans: Tuple[PlatformPlan, ...] = ()


# Where the planned build's files sit in the build process's sandbox. A multi-platform image
# has one pair per platform: `.pun-plan/linux_arm64/definition.pb`, ...
PLAN_DIR = ".pun-plan"
DEFINITION_FILE = f"{PLAN_DIR}/definition.pb"
SPEC_FILE = f"{PLAN_DIR}/image-spec.json"


def plan_files(platform: Platform, multi: bool) -> Tuple[str, str]:
    if not multi:
        return DEFINITION_FILE, SPEC_FILE
    where = f"{PLAN_DIR}/{platform_key(platform)}"
    return f"{where}/definition.pb", f"{where}/image-spec.json"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_hash(
    info: ContainerfileInfo,
    definitions: Sequence[bytes],
    spec_files: Sequence[bytes],
    context: BuildContext,
    settings: Mapping[str, Any],
) -> str:
    """`{pants.hash}`: every input that can change the image, and nothing else: the exact
    Definition and image spec bytes the build process gets (one pair per platform)."""
    if len(definitions) == 1:  # one platform: the hash it always had
        planned: Dict[str, Any] = {
            "definition": _sha256(definitions[0]),
            "image_spec": _sha256(spec_files[0]),
        }
    else:
        planned = {
            "definitions": [_sha256(d) for d in definitions],
            "image_specs": [_sha256(f) for f in spec_files],
        }
    inputs = {
        "containerfile": _sha256(info.text.encode("utf-8")),
        **planned,
        "context": context.digest.fingerprint,
        "pun": pun.__version__,
        **settings,
    }
    return _sha256(json.dumps(inputs, sort_keys=True).encode("utf-8"))


@rule(desc="Prepare a unikernel image build")
async def prepare_build(
    field_set: UnikernelImageFieldSet, pun_options: PunSubsystem
) -> UnikernelBuildRequest:
    address = field_set.address
    info, context, upstream, wrapped = await MultiGet(
        Get(ContainerfileInfo, ContainerfileRequest(address)),
        Get(BuildContext, BuildContextRequest(address)),
        Get(UpstreamImages, UpstreamImagesRequest(address)),
        Get(
            WrappedTarget,
            WrappedTargetRequest(address, description_of_origin="<unikernel_image build>"),
        ),
    )
    options = build_option_fields(wrapped.target)
    check_copy_sources(info, context)
    strict = bool(field_set.strict.value)
    squash = bool(field_set.squash.value)
    if squash and pun_options.builder == Builder.buildctl:
        raise UnikernelImageError(
            address,
            "`squash=True` works with the embedded builder only",
            'drop `squash`, or set `[pun].builder = "embedded"`',
        )
    if upstream.images and pun_options.builder == Builder.buildctl:
        upstream_names = ", ".join(f"{i.name} ({i.address})" for i in upstream.images)
        raise UnikernelImageError(
            address,
            f"{info.path} builds on other unikernel_images ({upstream_names}), which only the "
            "embedded builder reads from their archives: BuildKit would pull them from a registry",
            'set `[pun].builder = "embedded"`, or publish the upstream image and name it by '
            "its registry reference",
        )
    if info.multi_platform and field_set.output.value == DOCKER:
        raise UnikernelImageError(
            address,
            f'`output="docker"` holds one platform; `platforms` names {len(info.platforms)}',
            'use `output="oci"` (an image index), or one `platform` for `docker load`',
        )
    unique_id = context.digest.fingerprint
    multi = info.multi_platform
    plans = []
    said: Set[Diagnostic] = set()
    for platform in info.platforms or (info.platform,):
        generate_options = info.generate_options(
            unique_id, strict, context.excludes, upstream.aliases(), platform
        )
        # pun.api.BasePlanner's loop, with the config from a cached Process.
        planner = BasePlanner(info.text, generate_options)
        base = planner.base_to_resolve()
        while base is not None:
            resolved = await Get(ResolvedBaseConfig, base_config_request(address, base, upstream))
            if resolved.failure is not None and not planner.failed:
                raise resolved.failure
            planner.resolved(base, resolved.config)
            base = planner.base_to_resolve()
        try:
            generated = planner.result()
        except PunError as exc:
            raise UnikernelImageError.from_pun(address, exc) from None
        for warning in generated.warnings:
            if warning not in said:  # platforms mostly share their warnings: say each once
                said.add(warning)
                logger.warning(f"unikernel_image {address}: {warning.render()}")
        definition_file, spec_file = plan_files(platform, multi)
        plans.append(
            (
                PlatformPlan(
                    platform, generated.definition, generated.image, definition_file, spec_file
                ),
                # The rootfs artifact (if any) is made by the build process, from its context.
                spec_file_bytes(
                    generated.image,
                    info.path,
                    generated.source_map,
                    generated.plan.rootfs,
                    tuple(context.excludes),
                ),
            )
        )
    annotations = FrozenDict(field_set.annotations.value or {})
    settings = {
        **{f.hash_key: f.hash_value() for f in options},
        "output": field_set.output.value,
        "strict": strict,
        "source_date_epoch": pun_options.source_date_epoch,
        "builder": pun_options.builder.value,
        "platform": ",".join(str(p.platform) for p, _ in plans),
    }
    pants_hash = build_hash(
        info, [p.definition for p, _ in plans], [b for _, b in plans], context, settings
    )
    files = []
    for planned, spec_bytes in plans:
        files += [
            FileContent(planned.definition_file, planned.definition),
            FileContent(planned.spec_file, spec_bytes),
        ]
    plan = await Get(Digest, CreateDigest(files))
    registries = pun_options.registries().select(
        tuple(field_set.registries.value or ()), f"unikernel_image {address}"
    )
    names = image_names(
        address,
        interpolation_context(address, info.build_args.values, pants_hash),
        field_set.repository.value or pun_options.default_repository,
        tuple(field_set.image_tags.value or ()),
        registries,
    )
    return UnikernelBuildRequest(
        address=address,
        containerfile=info,
        context=context,
        definition=plans[0][0].definition,
        image=plans[0][0].image,
        plan=plan,
        unique_id=unique_id,
        pants_hash=pants_hash,
        names=names,
        archive=field_set.archive_path(),
        output=field_set.output.value or "oci",
        annotations=annotations,
        squash=squash,
        strict=strict,
        upstream=upstream,
        build_options=tuple(flag for f in options for flag in f.pun_build_flags()),
        platform_plans=tuple(p for p, _ in plans),
    )


def build_option_fields(target: Target) -> List[PunBuildOptionField]:
    """The target's fields that are `pun build` options, in alias order."""
    fields = [f for f in target.field_values.values() if isinstance(f, PunBuildOptionField)]
    return sorted(fields, key=lambda f: f.alias)


def rules() -> Iterable[Any]:
    return collect_rules()
