"""The image config and annotations returned with the result (`containerimage.config`).

The config is the image spec's (`pun.imagespec.ImageSpec.config_for`, the rule every builder
uses) over the base config the daemon resolved; the exporter fills in `rootfs.diff_ids` and
adds a history entry for every layer this build adds.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Mapping, Optional

from pun.diagnostics import error
from pun.gojson import go_json_dumps
from pun.imagespec import ImageSpec

CONFIG_KEY = "containerimage.config"
# A multi-platform result lists its platforms here (exptypes.ExporterPlatformsKey).
PLATFORMS_KEY = "refs.platforms"
ANNOTATION_MANIFEST_PREFIX = "annotation-manifest."


def parse_base_config(data: bytes, reference: str) -> Dict[str, Any]:
    try:
        parsed = json.loads(data.decode("utf-8"))
    except ValueError as exc:
        raise error(f"the image config of {reference} is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise error(f"the image config of {reference} is not a JSON object")
    return parsed


def exporter_config(spec: ImageSpec, base: Optional[Mapping[str, Any]]) -> bytes:
    return go_json_dumps(spec.config_for(base)).encode("utf-8")


def manifest_annotations(annotations: Mapping[str, str]) -> Dict[str, bytes]:
    """The spec's manifest annotations as exporter metadata (BuildKit ignores keys with
    whitespace). These keys keep their case: only buildctl lower-cases --output attrs
    (moby/buildkit `cmd/buildctl/build/output.go`)."""
    return {
        ANNOTATION_MANIFEST_PREFIX + key: value.encode("utf-8")
        for key, value in annotations.items()
        if key and not any(ch.isspace() for ch in key)
    }
