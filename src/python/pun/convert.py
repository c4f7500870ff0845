"""PackPlan -> LLB State: the base, one FileOp per COPY, then `/urunc.json`."""

from __future__ import annotations

from typing import NamedTuple, Optional

from pun.containerfile.plan import PackPlan
from pun.llb.state import Copy, Mkfile, Owner, State, image, local, scratch
from pun.platform import DEFAULT_TARGET, Platform, base_image_platform
from pun.urunc import HYPERVISOR, urunc_json

CONTEXT_LOCAL_NAME = "context"
URUNC_JSON_PATH = "/urunc.json"
URUNC_JSON_MODE = 0o644
_GLOB_CHARACTERS = frozenset("*?[")


class ConvertOptions(NamedTuple):
    target_platform: Platform = DEFAULT_TARGET
    # Forces the base image's platform (the original pun always used qemu/amd64).
    base_platform: Optional[Platform] = None


def plan_to_state(plan: PackPlan, options: ConvertOptions = ConvertOptions()) -> State:
    labels = plan.label_values()
    reference = plan.base.reference
    if reference is None:
        state = scratch()
    else:
        platform = (
            plan.base.platform
            or options.base_platform
            or base_image_platform(
                reference.domain, options.target_platform, labels.get(HYPERVISOR)
            )
        )
        state = image(str(reference), platform)
    context = local(CONTEXT_LOCAL_NAME)
    for instruction in plan.copies:
        owner = Owner.parse(instruction.owner) if instruction.owner else None
        state = state.file(
            *(
                Copy(
                    source=context,
                    src=src,
                    dest=instruction.dest,
                    mode=instruction.mode,
                    owner=owner,
                    # Like docker, expand patterns; literal paths keep the original's bytes.
                    allow_wildcard=bool(_GLOB_CHARACTERS.intersection(src)),
                )
                for src in instruction.sources
            )
        )
    return state.file(Mkfile(URUNC_JSON_PATH, URUNC_JSON_MODE, urunc_json(labels)))
