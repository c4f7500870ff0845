"""The image config returned with the result (`containerimage.config`).

Like Docker's Dockerfile frontend: start from the base image's config (Env, Cmd, Entrypoint,
WorkingDir, history, ...), set the platform being built, and merge the labels (base image,
then the Containerfile, then `label:` options). FROM scratch starts from nothing. The exporter
fills in `rootfs.diff_ids` and adds a history entry for every layer this build adds.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Mapping, Optional

from pun.diagnostics import error
from pun.gojson import go_json_dumps
from pun.platform import Platform

CONFIG_KEY = "containerimage.config"
ANNOTATION_MANIFEST_PREFIX = "annotation-manifest."
# Top-level fields of the OCI/Docker image config that a build carries over from its base.
# `created` is left out: the exporter takes it from the newest history entry it adds.
_INHERITED = ("author", "config", "history", "os.version", "os.features")


def parse_base_config(data: bytes, reference: str) -> Dict[str, Any]:
    try:
        parsed = json.loads(data.decode("utf-8"))
    except ValueError as exc:
        raise error(f"the image config of {reference} is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise error(f"the image config of {reference} is not a JSON object")
    return parsed


def image_config(
    base: Optional[Mapping[str, Any]],
    platform: Platform,
    labels: Mapping[str, str],
) -> bytes:
    image: Dict[str, Any] = {key: base[key] for key in _INHERITED if base and key in base}
    image["architecture"] = platform.architecture
    image["os"] = platform.os
    if platform.variant:
        image["variant"] = platform.variant
    config = dict(image.get("config") or {})
    merged = {**(config.get("Labels") or {}), **labels}
    if merged:
        config["Labels"] = merged
    else:
        config.pop("Labels", None)
    image["config"] = config
    image["rootfs"] = {"type": "layers", "diff_ids": list(_diff_ids(base))}
    return go_json_dumps(image).encode("utf-8")


def _diff_ids(base: Optional[Mapping[str, Any]]) -> Any:
    rootfs = (base or {}).get("rootfs") or {}
    return rootfs.get("diff_ids") or []


def manifest_annotations(labels: Mapping[str, str]) -> Dict[str, bytes]:
    """One manifest annotation per label (BuildKit ignores keys with whitespace)."""
    return {
        ANNOTATION_MANIFEST_PREFIX + key: value.encode("utf-8")
        for key, value in labels.items()
        if key and not any(ch.isspace() for ch in key)
    }
