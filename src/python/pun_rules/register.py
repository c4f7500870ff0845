"""Pants plugin for pun: `backend_packages = [..., "pun_rules"]` enables `unikernel_image`,
`pun_frontend_image` and `unikernel_initrd` (a deterministic initrd for Linux guests);
`pants run` on a `unikernel_image` boots it the way urunc would."""

from __future__ import annotations

from typing import Any, Iterable

from pun_rules import dependency_inference
from pun_rules.frontend_target_types import PunFrontendImageTarget
from pun_rules.goals import package, package_frontend, package_initrd, publish
from pun_rules.goals import run as run_goal
from pun_rules.goals import tailor
from pun_rules.initrd_target_types import UnikernelInitrdTarget
from pun_rules.subsystems import buildctl, frontend_freezer, pun_tool
from pun_rules.target_types import UnikernelImageTarget
from pun_rules.util_rules import (
    base_config,
    build_process,
    build_request,
    containerfile,
    context,
    upstream_images,
)


def rules() -> Iterable[Any]:
    return [
        *base_config.rules(),
        *buildctl.rules(),
        *build_process.rules(),
        *build_request.rules(),
        *containerfile.rules(),
        *context.rules(),
        *dependency_inference.rules(),
        *frontend_freezer.rules(),
        *package.rules(),
        *package_frontend.rules(),
        *package_initrd.rules(),
        *publish.rules(),
        *pun_tool.rules(),
        *run_goal.rules(),
        *tailor.rules(),
        *upstream_images.rules(),
    ]


def target_types() -> Iterable[Any]:
    return [UnikernelImageTarget, PunFrontendImageTarget, UnikernelInitrdTarget]
