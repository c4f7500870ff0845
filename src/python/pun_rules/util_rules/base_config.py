"""The base image's config for planning, when the plan needs it (PackPlan.needs_base_config):
`pun base-config` from the pun tool PEX, one cached `Process` per (image, platform).

BuildKit's Dockerfile frontend resolves the base before it converts; `prepare_build` plans
once and, only when that plan says the base's Env/WorkingDir/User would change it, asks here
and plans again, so FROM scratch and most builds spawn nothing. A base that is another
`unikernel_image` (layering) is read from its archive (`--image-archive`, the same archives
the build gets), any other from its registry, into the same named blob cache the build uses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Tuple

from pants.backend.python.util_rules.pex import VenvPexProcess
from pants.engine.addresses import Address
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.process import FallibleProcessResult, Process
from pants.engine.rules import Get, collect_rules, rule
from pants.util.logging import LogLevel

from pun.imagespec import BaseConfig
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
    config: BaseConfig


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
    process = await Get(
        Process,
        VenvPexProcess(
            tool.pex,
            argv=base_config_argv(request),
            description=f"Resolving {request.reference} ({request.platform}) for "
            f"{request.address}",
            level=LogLevel.DEBUG,
            input_digest=request.upstream.digest,
            extra_env=dict(env),
            append_only_caches={CACHE_NAME: CACHE_DIR},
        ),
    )
    result = await Get(FallibleProcessResult, Process, process)
    if result.exit_code != 0:
        raise UnikernelImageError(
            request.address,
            f"cannot resolve the base image {request.reference} ({request.platform}):\n"
            + result.stderr.decode("utf-8", "replace").rstrip(),
            "check the FROM image and that the registry is reachable",
        )
    return ResolvedBaseConfig(BaseConfig.from_image_config(json.loads(result.stdout)))


def rules() -> Iterable[Any]:
    return collect_rules()
