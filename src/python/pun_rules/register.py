"""Pants plugin for pun: `backend_packages = [..., "pun_rules"]` enables `unikernel_image`."""

from __future__ import annotations

from typing import Any, Iterable

from pun_rules import dependency_inference
from pun_rules.goals import package, publish, tailor
from pun_rules.subsystems import buildctl, pun_tool
from pun_rules.target_types import UnikernelImageTarget
from pun_rules.util_rules import build_process, build_request, containerfile, context


def rules() -> Iterable[Any]:
    return [
        *buildctl.rules(),
        *build_process.rules(),
        *build_request.rules(),
        *containerfile.rules(),
        *context.rules(),
        *dependency_inference.rules(),
        *package.rules(),
        *publish.rules(),
        *pun_tool.rules(),
        *tailor.rules(),
    ]


def target_types() -> Iterable[Any]:
    return [UnikernelImageTarget]
