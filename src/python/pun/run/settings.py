"""An image's urunc settings, read with urunc's own precedence, and checked before anything runs.

urunc (urunc-dev/urunc `pkg/unikontainers/annotations.go`, `GetUnikernelConfig`) first takes the
container spec's annotations as plain text; its containerd shim fills them from the image
config's labels and then the manifest's annotations, which win on duplicates
(`pkg/containerd-shim/.../annotations.go`). If those lack a mandatory field (`validate`:
unikernelType, hypervisor, binary), urunc reads `/urunc.json` from the root filesystem, whose
values are base64; if that fails too, the container is "not a unikernel" and goes to runc. The
values are then checked (`validateValues`: the guest/monitor pair, the path rules, ...).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

from pun import urunc
from pun.diagnostics import Diagnostic, PunError, Severity, error

URUNC_JSON = "urunc.json"
ANNOTATIONS, URUNC_JSON_SOURCE = "manifest annotations and config labels", "/urunc.json"


@dataclass(frozen=True)
class ImageConfig:
    """What urunc takes from the image config through the container spec."""

    entrypoint: Tuple[str, ...]
    cmd: Tuple[str, ...]
    env: Tuple[str, ...]
    labels: Mapping[str, str]

    @classmethod
    def parse(cls, config: Mapping[str, Any]) -> "ImageConfig":
        inner = config.get("config") or {}

        def strings(key: str) -> Tuple[str, ...]:
            return tuple(str(v) for v in inner.get(key) or ())

        labels = {str(k): str(v) for k, v in (inner.get("Labels") or {}).items()}
        return cls(strings("Entrypoint"), strings("Cmd"), strings("Env"), labels)


@dataclass(frozen=True)
class UruncSettings:
    values: Mapping[str, str]
    source: str  # ANNOTATIONS or URUNC_JSON_SOURCE

    @property
    def guest(self) -> str:
        return self.values.get(urunc.UNIKERNEL_TYPE, "")

    @property
    def monitor(self) -> str:
        return self.values.get(urunc.HYPERVISOR, "")

    def get(self, key: str) -> str:
        return self.values.get(key, "")


def spec_annotations(
    manifest_annotations: Mapping[str, str], labels: Mapping[str, str]
) -> Dict[str, str]:
    """What the shim puts into the spec: urunc labels, then manifest annotations over them."""
    merged = {k: v for k, v in labels.items() if k.startswith(urunc.PREFIX)}
    merged.update({k: v for k, v in manifest_annotations.items() if k.startswith(urunc.PREFIX)})
    return merged


def _missing(values: Mapping[str, str]) -> Optional[str]:
    """urunc's `validate`: the first mandatory field that is empty, in urunc's order."""
    for key in (urunc.UNIKERNEL_TYPE, urunc.HYPERVISOR, urunc.BINARY):
        if not values.get(key):
            return key
    return None


def read_urunc_json(rootfs: str) -> Tuple[Optional[Dict[str, str]], str]:
    """The decoded `/urunc.json`, or None and why urunc could not use it."""
    path = os.path.join(rootfs, URUNC_JSON)
    if os.path.islink(path) or not os.path.isfile(path):
        return None, "the image has no /urunc.json"
    try:
        with open(path, "rb") as handle:
            raw = json.loads(handle.read().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, f"/urunc.json is not valid JSON ({exc})"
    if not isinstance(raw, dict):
        return None, "/urunc.json is not a JSON object"
    decoded: Dict[str, str] = {}
    for key, value in raw.items():
        if not key.startswith(urunc.PREFIX):
            continue  # urunc reads its own fields only
        if not isinstance(value, str):
            return None, f"/urunc.json: {key} is not a string"
        try:
            decoded[key] = base64.b64decode(value.encode("ascii"), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeError, ValueError):
            return None, f"/urunc.json: the value of {key} is not base64 (urunc decodes it)"
    return decoded, ""


def choose(
    manifest_annotations: Mapping[str, str], config: ImageConfig, rootfs: str, where: str
) -> UruncSettings:
    """urunc's precedence; a PunError (naming what urunc would say) when neither source works."""
    spec = spec_annotations(manifest_annotations, config.labels)
    missing = _missing(spec)
    if missing is None:
        return UruncSettings(spec, ANNOTATIONS)
    from_json, why_not = read_urunc_json(rootfs)
    if from_json is not None:
        json_missing = _missing(from_json)
        if json_missing is None:
            return UruncSettings(from_json, URUNC_JSON_SOURCE)
        why_not = f"/urunc.json lacks it too ({json_missing} is empty)"
    raise error(
        f"urunc would not boot this image: unikernel configuration is missing mandatory field: "
        f"{missing} (in the {ANNOTATIONS}), and {why_not}; urunc then treats the container as "
        "not a unikernel and hands it to runc",
        where,
        hint=f"set it with `LABEL {missing}=...` in the Containerfile and rebuild",
    )


def check(settings: UruncSettings, where: str) -> List[Diagnostic]:
    """urunc's `validateValues`, through the project's urunc schema, before any monitor starts.
    Returns warnings (keys urunc ignores); raises a PunError for what urunc would refuse."""
    guest, monitor = settings.guest, settings.monitor
    pair_known = guest in urunc.GUEST_MONITOR_PAIRS.get(monitor, frozenset())
    sites = {k: urunc.LabelSite(v, None) for k, v in settings.values.items()}
    findings = urunc.validate(sites, (), False, where, None)
    problems: List[Diagnostic] = []
    warnings: List[Diagnostic] = []
    if not pair_known:
        fitting = sorted(h for h, kinds in urunc.GUEST_MONITOR_PAIRS.items() if guest in kinds)
        problems.append(
            Diagnostic(
                Severity.ERROR,
                f"urunc would refuse this image: unsupported guest monitor pair {monitor} {guest}",
                where,
                None,
                (f"{guest} runs on: " + ", ".join(fitting))
                if fitting
                else "urunc's guests: " + ", ".join(sorted(urunc.UNIKERNEL_TYPES)),
            )
        )
    for finding in findings:
        finding = finding._replace(message=f"{finding.message} (from the {settings.source})")
        if finding.message.startswith("unknown urunc label"):
            warnings.append(finding._replace(severity=Severity.WARNING))
        elif pair_known or not _about_pair(finding.message):
            problems.append(finding)
    if problems:
        raise PunError(problems)
    return warnings


def _about_pair(message: str) -> bool:
    return message.startswith(("unknown unikernelType", "unknown hypervisor", "urunc cannot run"))
