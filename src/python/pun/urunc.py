"""urunc's annotation schema: which labels a unikernel image needs, and `/urunc.json`.

The accepted values mirror urunc's own checks (urunc-dev/urunc,
`pkg/unikontainers/annotations.go`: `supportedGuestMonitorPairs` and the path rules of
`validate()`), read in November 2026. Update `GUEST_MONITOR_PAIRS` when urunc adds a guest or a
monitor.
"""

from __future__ import annotations

import binascii

from pun.diagnostics import Diagnostic, Severity
from pun.gojson import go_json_string_map
from pun.gopath import clean
from pun.records import Record

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import Callable, FrozenSet, List, Mapping, Optional, Tuple

PREFIX = "com.urunc.unikernel."
UNIKERNEL_TYPE = PREFIX + "unikernelType"
HYPERVISOR = PREFIX + "hypervisor"
BINARY = PREFIX + "binary"
CMDLINE = PREFIX + "cmdline"
INITRD = PREFIX + "initrd"
BLOCK = PREFIX + "block"
BLOCK_MOUNT_POINT = PREFIX + "blkMntPoint"
UNIKERNEL_VERSION = PREFIX + "unikernelVersion"
MOUNT_ROOTFS = PREFIX + "mountRootfs"
USE_DM_BLOCK = PREFIX + "useDMBlock"
SOLO5_NET_DEV = PREFIX + "solo5NetDev"
SOLO5_BLK_DEV = PREFIX + "solo5BlkDev"
VACCEL = PREFIX + "vAccel"
RPC_ADDRESS = PREFIX + "RPCAddress"

REQUIRED_KEYS: Tuple[str, ...] = (UNIKERNEL_TYPE, HYPERVISOR, BINARY)
# Keys whose value is a file inside the image's root filesystem.
IMAGE_PATH_KEYS: Tuple[str, ...] = (BINARY, INITRD, BLOCK)
KNOWN_KEYS: FrozenSet[str] = frozenset(
    {
        UNIKERNEL_TYPE,
        HYPERVISOR,
        BINARY,
        CMDLINE,
        INITRD,
        BLOCK,
        BLOCK_MOUNT_POINT,
        UNIKERNEL_VERSION,
        MOUNT_ROOTFS,
        USE_DM_BLOCK,
        SOLO5_NET_DEV,
        SOLO5_BLK_DEV,
        VACCEL,
        RPC_ADDRESS,
    }
)

# hypervisor -> the unikernel types urunc will boot on it.
GUEST_MONITOR_PAIRS: Mapping[str, FrozenSet[str]] = {
    "hvt": frozenset({"rumprun", "mirage"}),
    "spt": frozenset({"rumprun", "mirage"}),
    "qemu": frozenset({"unikraft", "mirage", "mewz", "linux", "hermit"}),
    "firecracker": frozenset({"unikraft", "linux"}),
    "cloud-hypervisor": frozenset({"linux"}),
    "hyperlight-unikraft": frozenset({"unikraft"}),
}
UNIKERNEL_TYPES: FrozenSet[str] = frozenset().union(*GUEST_MONITOR_PAIRS.values())
HYPERVISORS: FrozenSet[str] = frozenset(GUEST_MONITOR_PAIRS)

# `^[A-Za-z0-9._/-]+$` (checked on every image: without `re`, which `pun --LLB` avoids).
_IMAGE_PATH_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/-")
_BOOL_WORDS = frozenset(
    {"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"}
)
# A regex source, compiled by `re` on first use (and cached there), not at start-up.
_SOLO5_DEVICE = r"^[A-Za-z0-9]{1,67}$"


def urunc_json(labels: Mapping[str, str]) -> bytes:
    """The `/urunc.json` bytes: every label, value base64-encoded, as the original pun wrote it."""
    encoded = {
        # binascii is what base64.b64encode calls, minus importing the base64 module.
        key: binascii.b2a_base64(value.encode("utf-8"), newline=False).decode("ascii")
        for key, value in labels.items()
    }
    return go_json_string_map(encoded).encode("utf-8")


if TYPE_CHECKING:
    _Finder = Callable[[str, Optional[int], str], None]


class LabelSite(Record):
    """Where a label was set, so that findings can point at the line."""

    value: str
    line: Optional[int]


def validate(
    labels: Mapping[str, LabelSite],
    copy_destinations: Tuple[str, ...],
    base_is_scratch: bool,
    path: str,
    from_line: Optional[int],
) -> List[Diagnostic]:
    """Check the labels against urunc's schema. Findings come back as errors; callers decide
    whether they are fatal (`--strict`) or only warnings."""
    findings: List[Diagnostic] = []

    def finding(message: str, line: Optional[int], hint: str) -> None:
        findings.append(Diagnostic(Severity.ERROR, message, path, line, hint))

    urunc_labels = {k: v for k, v in labels.items() if k.startswith(PREFIX)}
    if not urunc_labels:
        finding(
            "no com.urunc.unikernel.* labels: urunc cannot boot this image",
            from_line,
            "add LABEL lines for com.urunc.unikernel.unikernelType, .hypervisor and .binary",
        )
        return findings
    for key in REQUIRED_KEYS:
        if key not in urunc_labels:
            finding(f"required label {key} is missing", from_line, f"add `LABEL {key}=<value>`")
    for key, labelled in sorted(urunc_labels.items()):
        if key not in KNOWN_KEYS:
            known = ", ".join(sorted(k[len(PREFIX) :] for k in KNOWN_KEYS))
            finding(f"unknown urunc label {key}", labelled.line, f"urunc knows: {known}")
    _check_pair(urunc_labels, finding)
    for key in IMAGE_PATH_KEYS:
        site = urunc_labels.get(key)
        if site is None:
            continue
        problem = _image_path_problem(site.value)
        if problem:
            finding(
                f"{key}={site.value!r} {problem}",
                site.line,
                "use a clean absolute path such as /unikernel/app",
            )
        elif base_is_scratch and not _is_copied(site.value, copy_destinations):
            finding(
                f"{key}={site.value} is not in the image: no COPY puts a file there",
                site.line,
                f"add `COPY <file> {site.value}` or fix the label",
            )
    for key in (MOUNT_ROOTFS, USE_DM_BLOCK):
        site = urunc_labels.get(key)
        if site is not None and site.value not in _BOOL_WORDS:
            finding(f"{key}={site.value!r} is not a boolean", site.line, 'use "true" or "false"')
    for key in (SOLO5_NET_DEV, SOLO5_BLK_DEV):
        site = urunc_labels.get(key)
        if site is not None and not _matches(_SOLO5_DEVICE, site.value):
            finding(
                f"{key}={site.value!r} is not a Solo5 device name",
                site.line,
                "use 1-67 letters or digits",
            )
    vaccel = urunc_labels.get(VACCEL)
    if vaccel is not None and vaccel.value != "vsock":
        finding(
            f"{VACCEL}={vaccel.value!r} is not supported",
            vaccel.line,
            'the only accepted value is "vsock"',
        )
    return findings


def _check_pair(labels: Mapping[str, LabelSite], finding: _Finder) -> None:
    kind = labels.get(UNIKERNEL_TYPE)
    monitor = labels.get(HYPERVISOR)
    if kind is not None and kind.value not in UNIKERNEL_TYPES:
        finding(
            f"unknown unikernelType {kind.value!r}",
            kind.line,
            "urunc supports: " + ", ".join(sorted(UNIKERNEL_TYPES)),
        )
    if monitor is not None and monitor.value not in HYPERVISORS:
        finding(
            f"unknown hypervisor {monitor.value!r}",
            monitor.line,
            "urunc supports: " + ", ".join(sorted(HYPERVISORS)),
        )
    if (
        kind is not None
        and monitor is not None
        and kind.value in UNIKERNEL_TYPES
        and monitor.value in HYPERVISORS
        and kind.value not in GUEST_MONITOR_PAIRS[monitor.value]
    ):
        fitting = sorted(h for h, kinds in GUEST_MONITOR_PAIRS.items() if kind.value in kinds)
        finding(
            f"urunc cannot run a {kind.value} unikernel on {monitor.value}",
            monitor.line,
            f"{kind.value} runs on: " + ", ".join(fitting),
        )


def _matches(pattern: str, value: str) -> bool:
    import re

    return re.match(pattern, value) is not None


def _is_image_path(value: str) -> bool:
    body = value[:-1] if value.endswith("\n") else value  # `$` as re.match reads it
    return bool(body) and all(c in _IMAGE_PATH_CHARS for c in body)


def _image_path_problem(value: str) -> str:
    if not _is_image_path(value):
        return "has characters urunc rejects (allowed: letters, digits, . _ / -)"
    if value in (".", "/") or value.startswith("..") or value.startswith("-"):
        return "is not a file path"
    if clean(value) != value:
        return "is not a clean path"
    return ""


def _is_copied(target: str, copy_destinations: Tuple[str, ...]) -> bool:
    """True when some COPY could have put a file at `target`: a destination equal to it, or a
    directory destination (ending in `/`, or a parent folder of it) that it lies under."""
    wanted = "/" + target.lstrip("/")
    for dest in copy_destinations:
        if dest.endswith("/") or dest.endswith("/."):
            folder = dest.rstrip(".").rstrip("/") + "/"
            if wanted.startswith(folder):
                return True
        elif wanted == dest or wanted.startswith(dest.rstrip("/") + "/"):
            return True
    return False
