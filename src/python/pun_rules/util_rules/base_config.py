"""The base image's config for planning, when the plan needs it (PackPlan.needs_base_config):
`pun base-config` from the pun tool PEX, one cached `Process` per (image, platform).

BuildKit's Dockerfile frontend resolves the base before it converts; `prepare_build` plans
once and, only when that plan says the base's config would change it or failed after FROM
<image> (pun.api.BasePlanner), asks here and plans again, so FROM scratch and most builds
spawn nothing. A base that is another `unikernel_image` (layering) is read from its archive
(`--image-archive`; only that one is in the Process), any other from its registry, into the
same named blob cache the build uses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Tuple

from pants.backend.python.util_rules.pex import VenvPexProcess
from pants.engine.addresses import Address
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.fs import Digest, DigestSubset, PathGlobs
from pants.engine.internals.native_engine import EMPTY_DIGEST
from pants.engine.process import FallibleProcessResult, Process
from pants.engine.rules import Get, collect_rules, rule
from pants.util.logging import LogLevel

from pun.imagespec import BaseConfig, BaseSpec
from pun.reference import InvalidReference, normalize
from pun_rules.errors import UnikernelImageError
from pun_rules.subsystems.pun import PunSubsystem
from pun_rules.subsystems.pun_tool import PunToolPex
from pun_rules.util_rules.upstream_images import UpstreamImages

# The named blob cache of every pun process (the build's too): a base resolved here is cached
# for the build that follows.
CACHE_NAME, CACHE_DIR = "pun_blobs", ".pun-cache"


@dataclass(frozen=True)
class BaseConfigRequest:
    address: Address  # the image being planned, for messages
    reference: str  # normalized, as the plan's BaseSpec names it
    platform: str  # the platform the LLB pulls it for
    upstream: UpstreamImages


@dataclass(frozen=True)
class ResolvedBaseConfig:
    # None when it could not be resolved; `failure` then says why (the rule raises it unless
    # the plan failed anyway, whose own error says more: pun.api.BasePlanner.failed).
    config: Optional[BaseConfig]
    failure: Optional[UnikernelImageError] = None


def base_config_request(
    address: Address, base: BaseSpec, upstream: UpstreamImages
) -> BaseConfigRequest:
    """The request for `base`: with the upstream archive it is read from when it is another
    unikernel_image, and none otherwise (so a registry base's cached Process does not change
    with the upstream images)."""
    own = tuple(image for image in upstream.images if _names(image.reference, base.reference))
    return BaseConfigRequest(
        address, base.reference, str(base.platform), UpstreamImages(own, upstream.digest)
    )


def _names(written: str, reference: str) -> bool:
    try:
        return str(normalize(written)) == reference
    except InvalidReference:
        return False


def base_config_argv(request: BaseConfigRequest) -> Tuple[str, ...]:
    return (
        "base-config",
        f"--platform={request.platform}",
        f"--cache-dir={CACHE_DIR}",
        "--progress=quiet",
        *(image.argv() for image in request.upstream.images),
        request.reference,
    )


@rule(desc="Resolve a base image's config")
async def resolve_base_config(
    request: BaseConfigRequest, pun_options: PunSubsystem, tool: PunToolPex
) -> ResolvedBaseConfig:
    env = await Get(EnvironmentVars, EnvironmentVarsRequest(pun_options.env_vars))
    archives = [image.archive for image in request.upstream.images]
    input_digest = EMPTY_DIGEST
    if archives:  # only the base's own archive: the Process's cache key holds no other
        input_digest = await Get(Digest, DigestSubset(request.upstream.digest, PathGlobs(archives)))
    process = await Get(
        Process,
        VenvPexProcess(
            tool.pex,
            argv=base_config_argv(request),
            description=f"Resolving {request.reference} ({request.platform}) for "
            f"{request.address}",
            level=LogLevel.DEBUG,
            input_digest=input_digest,
            extra_env=dict(env),
            append_only_caches={CACHE_NAME: CACHE_DIR},
        ),
    )
    result = await Get(FallibleProcessResult, Process, process)
    if result.exit_code != 0:
        failure = UnikernelImageError(
            request.address,
            f"cannot resolve the base image {request.reference} ({request.platform}):\n"
            + result.stderr.decode("utf-8", "replace").rstrip(),
            "check the FROM image and that the registry is reachable",
        )
        return ResolvedBaseConfig(None, failure)
    return ResolvedBaseConfig(read_answer(request, result.stdout))


def read_answer(request: BaseConfigRequest, stdout: bytes) -> BaseConfig:
    """`pun base-config`'s one line of JSON (UnikernelImageError naming the target if not)."""
    try:
        answer = json.loads(stdout)
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("config") or {}, dict):
        printed = stdout.decode("utf-8", "replace").strip()[:200]
        raise UnikernelImageError(
            request.address,
            f"`pun base-config` printed no image config for the base image {request.reference} "
            f"({request.platform}): {printed!r}",
            'check that the pun tool is this pun\'s (it prints `{"config": {...}}`) and '
            "that nothing else writes to its stdout",
        )
    return BaseConfig.from_image_config(answer)


def rules() -> Iterable[Any]:
    return collect_rules()
