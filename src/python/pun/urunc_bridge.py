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


def bridge(
    labels: Mapping[str, str],
    label_lines: Mapping[str, int],
    steps: Tuple[ConfigStep, ...],
    guest_args: Optional[Tuple[str, ...]],
    path: str,
) -> Bridged:
    notes: List[Diagnostic] = []
    derived: Dict[str, str] = {}
    if not any(key.startswith(PREFIX) for key in labels):
        return Bridged(steps, derived, ())  # not an image for urunc: nothing to bridge
    cmdline = labels.get(CMDLINE)
    if cmdline is not None and guest_args is None:
        steps = steps + (SetCmd(tuple(cmdline.split(" ")), False, label_lines.get(CMDLINE, 0)),)
    elif cmdline is None and guest_args:  # `CMD []` gives no arguments to derive
        derived[CMDLINE] = " ".join(guest_args)
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
    return Bridged(steps, derived, tuple(notes))


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
