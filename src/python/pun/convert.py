"""PackPlan -> LLB State: the base, one FileOp per COPY (and per WORKDIR), then `/urunc.json`."""

from __future__ import annotations


from pun.containerfile.plan import CopyInstruction, PackPlan, WorkdirInstruction
from pun.llb.state import Copy, Mkdir, Mkfile, Owner, State, image, local, scratch
from pun.platform import DEFAULT_TARGET, Platform, base_image_platform
from pun.urunc import HYPERVISOR
from pun.records import Record

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import List, Optional, Union

CONTEXT_LOCAL_NAME = "context"
URUNC_JSON_PATH = "/urunc.json"
URUNC_JSON_MODE = 0o644
WORKDIR_MODE = 0o755
_GLOB_CHARACTERS = frozenset("*?[")
COMPAT_DOCKER = "docker"
COMPAT_PUN = "pun"
COMPAT_MODES = (COMPAT_DOCKER, COMPAT_PUN)


class ConvertOptions(Record):
    target_platform: Platform = DEFAULT_TARGET
    # Forces the base image's platform (the original pun always used qemu/amd64).
    base_platform: Optional[Platform] = None
    # "docker": docker build's semantics; "pun": the original pun's LLB, byte for byte.
    compat: str = COMPAT_DOCKER


def pull_platform(plan: PackPlan, options: ConvertOptions) -> Optional[Platform]:
    """The platform the base image is pulled for (None for FROM scratch)."""
    reference = plan.base.reference
    if reference is None:
        return None
    return (
        plan.base.platform
        or options.base_platform
        or base_image_platform(
            reference.domain, options.target_platform, plan.label_values().get(HYPERVISOR)
        )
    )


def plan_to_state(
    plan: PackPlan, urunc_json: bytes, options: ConvertOptions = ConvertOptions()
) -> State:
    reference = plan.base.reference
    if reference is None:
        state = scratch()
    else:
        state = image(str(reference), pull_platform(plan, options))
    context = local(CONTEXT_LOCAL_NAME)
    steps: List[Union[CopyInstruction, WorkdirInstruction]] = list(plan.copies)
    if options.compat == COMPAT_DOCKER:
        steps.extend(plan.workdirs)
    for step in sorted(steps, key=lambda s: s.line):
        if isinstance(step, WorkdirInstruction):
            owner = Owner.parse(step.user) if step.user else None
            state = state.file(
                Mkdir(step.path, WORKDIR_MODE, make_parents=True, owner=owner), line=step.line
            )
            continue
        owner = Owner.parse(step.owner) if step.owner else None
        state = state.file(
            *(
                Copy(
                    source=context,
                    src=src,
                    dest=step.dest,
                    mode=step.mode,
                    owner=owner,
                    # Like docker, expand patterns; literal paths keep the original's bytes.
                    allow_wildcard=bool(_GLOB_CHARACTERS.intersection(src)),
                )
                for src in step.sources
            ),
            line=step.line,
        )
    return state.file(Mkfile(URUNC_JSON_PATH, URUNC_JSON_MODE, urunc_json))
