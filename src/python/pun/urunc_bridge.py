"""Serve both urunc generations from one Containerfile.

urunc 0.5/0.6 read the guest's arguments from the `com.urunc.unikernel.cmdline` annotation (or
`/urunc.json`); urunc 0.7 and later read the container's process args, i.e. the image config's
Entrypoint + Cmd (URUNC-FACTS: `cmdline` is gone from `validateValues`). So:
- a `cmdline` label and no CMD/ENTRYPOINT: Cmd is the label split on single spaces, as bunny
  does (nubificus/bunny `hops/parse_file.go`: `strings.Split(Cmdline, " ")`);
- CMD/ENTRYPOINT and no `cmdline` label: the annotation and `/urunc.json` get the arguments
  joined by spaces (bunny `hops/package.go`: `strings.Join(cmd, " ")`), while the config's
  Labels keep only what the user wrote;
- both, disagreeing: a warning naming both lines.
A base image's Entrypoint counts: urunc 0.7+ runs it before Cmd. With a CMD alone the derived
cmdline includes it (so the base's config must be known: BaseConfig.entrypoint); a Cmd derived
from the label comes with an empty Entrypoint, so every urunc boots the label's arguments alone.
It also warns about the rootfs labels urunc generations read differently.
"""

from __future__ import annotations

from pun.diagnostics import Diagnostic, warning
from pun.imagespec import ConfigStep, SetCmd, SetEntrypoint
from pun.records import Record
from pun.urunc import BLOCK, CMDLINE, MOUNT_ROOTFS, PREFIX, USE_DM_BLOCK

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import Dict, List, Mapping, Optional, Tuple


class Bridged(Record):
    steps: Tuple[ConfigStep, ...]  # the config steps, plus a Cmd derived from `cmdline`
    derived: Dict[str, str]  # urunc keys to add to the annotations and /urunc.json
    warnings: Tuple[Diagnostic, ...]
    # The derived cmdline depends on the base image's Entrypoint, which was not given: plan
    # again with the base's config (PackPlan.needs_base_config).
    needs_base_config: bool = False


def bridge(
    labels: Mapping[str, str],
    label_lines: Mapping[str, int],
    steps: Tuple[ConfigStep, ...],
    guest_args: Optional[Tuple[str, ...]],
    path: str,
    base_entrypoint: Optional[Tuple[str, ...]] = (),
    derive: bool = True,
) -> Bridged:
    """`guest_args`: Entrypoint + Cmd over `base_entrypoint` (ImageSpec.guest_args), which is
    () for FROM scratch and None for a base image whose config is not known. `derive` False
    (`--compat pun`, which writes the labels only): no cmdline is derived from CMD."""
    notes: List[Diagnostic] = []
    derived: Dict[str, str] = {}
    needs_base = False
    if not any(key.startswith(PREFIX) for key in labels):
        return Bridged(steps, derived, ())  # not an image for urunc: nothing to bridge
    cmdline = labels.get(CMDLINE)
    if cmdline is not None and guest_args is None:
        line = label_lines.get(CMDLINE, 0)
        if base_entrypoint != ():  # the base may have one, which urunc 0.7+ would run first
            steps = steps + (SetEntrypoint((), False, line),)
        steps = steps + (SetCmd(tuple(cmdline.split(" ")), False, line),)
    elif cmdline is None and guest_args and derive:  # `CMD []` gives no arguments to derive
        derived[CMDLINE] = " ".join(guest_args)
        if base_entrypoint is None and not any(isinstance(s, SetEntrypoint) for s in steps):
            needs_base = True
            command_line = max((s.line for s in steps if isinstance(s, SetCmd)), default=None)
            notes.append(
                warning(
                    f"the {CMDLINE} derived from CMD for urunc 0.5/0.6 leaves out the "
                    "Entrypoint the base image may have, which urunc 0.7 and later run before "
                    "Cmd (this plan was made without the base image's config)",
                    path,
                    command_line,
                    "write ENTRYPOINT as well (ENTRYPOINT [] for none), or give the base's "
                    "config with `pun --LLB --base-config FILE` (`pun base-config REF > FILE`); "
                    "`pun build`, the frontend and the Pants rule resolve it",
                )
            )
    elif cmdline is not None and guest_args is not None and cmdline != " ".join(guest_args):
        command_line = max(
            (s.line for s in steps if isinstance(s, (SetCmd, SetEntrypoint))), default=None
        )
        notes.append(
            warning(
                f"the {CMDLINE} label (line {label_lines.get(CMDLINE)}) says {cmdline!r} but "
                f"CMD/ENTRYPOINT (line {command_line}) give {' '.join(guest_args)!r}: "
                "urunc 0.5/0.6 boot with the label, urunc 0.7 and later with CMD/ENTRYPOINT",
                path,
                command_line,
                f"drop the {CMDLINE} label (pun derives it from CMD) or make them agree",
            )
        )
    notes.extend(_rootfs_warnings(labels, label_lines, path))
    return Bridged(steps, derived, tuple(notes), needs_base)


def _rootfs_warnings(
    labels: Mapping[str, str], label_lines: Mapping[str, int], path: str
) -> List[Diagnostic]:
    if not any(key.startswith(PREFIX) for key in labels):
        return []  # not a unikernel image at all: the schema check says so
    if USE_DM_BLOCK in labels and MOUNT_ROOTFS not in labels:
        value = labels[USE_DM_BLOCK]
        return [
            warning(
                f"{USE_DM_BLOCK} is deprecated: urunc 0.7 and later read {MOUNT_ROOTFS} instead",
                path,
                label_lines.get(USE_DM_BLOCK),
                f'add LABEL {MOUNT_ROOTFS}="{value}" (keep {USE_DM_BLOCK} for urunc 0.5/0.6)',
            )
        ]
    if USE_DM_BLOCK not in labels and MOUNT_ROOTFS not in labels and BLOCK not in labels:
        lines = [line for key, line in label_lines.items() if key.startswith(PREFIX)]
        first = min(lines, default=None)
        return [
            warning(
                f"neither {MOUNT_ROOTFS} nor {USE_DM_BLOCK} is set and there is no {BLOCK}: "
                "urunc 0.5/0.6 then hand the container's rootfs to the guest through devmapper, "
                "which fails on overlayfs snapshotters ('failed to stat dev overlay')",
                path,
                first,
                f'add LABEL {MOUNT_ROOTFS}="false" {USE_DM_BLOCK}="false" '
                '(or "true" for both to give the guest the container\'s rootfs)',
            )
        ]
    return []
