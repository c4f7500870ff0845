"""Pants plugin for pun: `backend_packages = [..., "pun_rules"]` enables `unikernel_image` and
`pun_frontend_image`."""

from __future__ import annotations

from typing import Any, Iterable

from pun_rules import dependency_inference
from pun_rules.goals import package, package_frontend, publish, tailor
from pun_rules.subsystems import buildctl, frontend_freezer, pun_tool
from pun_rules.target_types import PunFrontendImageTarget, UnikernelImageTarget
from pun_rules.util_rules import build_process, build_request, containerfile, context


def rules() -> Iterable[Any]:
    return [
        *buildctl.rules(),
        *build_process.rules(),
        *build_request.rules(),
        *containerfile.rules(),
        *context.rules(),
        *dependency_inference.rules(),
        *frontend_freezer.rules(),
        *package.rules(),
        *package_frontend.rules(),
        *publish.rules(),
        *pun_tool.rules(),
        *tailor.rules(),
    ]


def target_types() -> Iterable[Any]:
    return [UnikernelImageTarget, PunFrontendImageTarget]
