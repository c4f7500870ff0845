"""The layers BuildKit made, taken out of the OCI archive its `oci` exporter wrote.

The buildctl builder keeps only these from BuildKit: the layer blobs above the base image's,
with their diff_ids and the `created_by` BuildKit recorded for each. The config, manifest and
index around them are pun's own (pun/oci/image.py), because BuildKit's are not the image pun
describes: in raw-LLB mode it writes a config with only Env and WorkingDir, and buildctl lower-cases
every `--output` attribute key, so `annotation-manifest.<key>` loses the case urunc looks up
(BuildKit v0.32.2 `cmd/buildctl/build/output.go`, `strings.ToLower(key)`).
The base's own layers come from the base image itself: with `rewrite-timestamp=true` BuildKit
rewrites and recompresses them too (`exporter/containerimage/writer.go`
`rewriteRemoteWithEpoch`; raw LLB carries no base config that would mark them immutable).
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from pun.diagnostics import error
from pun.oci.image import BuiltImage, PulledImage, convert_layer
from pun.oci.layers import Layer


def built_layers(archive: BuiltImage, base: Optional[PulledImage], oci: bool) -> List[Layer]:
    """BuildKit's layers above the base (bottom first), under `oci` or Docker media types."""
    config = _json(archive.config)
    diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
    history = [h for h in config.get("history") or [] if not h.get("empty_layer")]
    below = len(base.layers) if base is not None else 0
    if len(diff_ids) != len(archive.layers) or len(archive.layers) < below:
        raise error(
            f"BuildKit's image has {len(archive.layers)} layers and {len(diff_ids)} diff_ids "
            f"over a base with {below} layers; pun cannot tell which layers the build made",
            hint="report this with the Containerfile; meanwhile use --builder embedded",
        )
    layers = []
    for index in range(below, len(archive.layers)):
        entry: Dict[str, Any] = history[index] if index < len(history) else {}
        layers.append(
            Layer(
                convert_layer(archive.layers[index], oci),
                str(diff_ids[index]),
                str(entry.get("created_by") or ""),
            )
        )
    return layers


def _json(data: bytes) -> Dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        value = None
    if not isinstance(value, dict):
        raise error("BuildKit's image config is not a JSON object", hint="check buildkitd's log")
    return value
