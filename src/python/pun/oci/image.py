"""Image config, manifest and index JSON for a built image.

All JSON is written compact with sorted keys (Go-style escaping), so the same inputs always give
the same bytes and digests. `created` and every history timestamp come from SOURCE_DATE_EPOCH.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from pun.gojson import go_json_dumps
from pun.imagespec import ImageSpec
from pun.oci.layers import Blob, Layer, layer_media_type
from pun.platform import Platform
from pun.reference import normalize

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"
CONTAINERD_NAME_ANNOTATION = "io.containerd.image.name"


@dataclass(frozen=True)
class PulledImage:
    """A pulled base image: its config and its layer blobs (bottom first) in the local cache."""

    reference: str
    manifest_digest: str
    config: bytes
    layers: Tuple[Blob, ...]

    def config_json(self) -> Dict[str, Any]:
        value = json.loads(self.config.decode("utf-8"))
        return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class BuiltImage:
    manifest: bytes
    manifest_digest: str
    manifest_media_type: str
    config: bytes
    config_digest: str
    config_media_type: str
    layers: Tuple[Blob, ...]
    platform: Platform
    oci: bool


def canonical_json(value: Any) -> bytes:
    return go_json_dumps(value).encode("utf-8")


def digest_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def rfc3339(epoch: int) -> str:
    moment = datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def platform_json(platform: Platform) -> Dict[str, str]:
    out = {"architecture": platform.architecture, "os": platform.os}
    if platform.variant:
        out["variant"] = platform.variant
    return out


def config_with_layers(
    base: Optional[PulledImage], layers: Sequence[Layer], spec: ImageSpec, epoch: int
) -> bytes:
    """The image config: the spec's rule over the base's config, then one history entry and
    diff id per layer this build adds."""
    created = rfc3339(epoch)
    config = spec.config_for(base.config_json() if base is not None else None)
    rootfs = config.setdefault("rootfs", {"type": "layers", "diff_ids": []})
    diff_ids: List[str] = list(rootfs.get("diff_ids") or [])
    history: List[Dict[str, Any]] = list(config.get("history") or [])
    for layer in layers:
        diff_ids.append(layer.diff_id)
        history.append({"created": created, "created_by": layer.created_by, "comment": "pun"})
    config["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
    config["history"] = history
    config["created"] = created
    return canonical_json(config)


def convert_layer(blob: Blob, oci: bool) -> Blob:
    """The same bytes under the other family's media type (BuildKit converts these too)."""
    gzipped = blob.media_type.endswith("gzip")
    if "zstd" in blob.media_type:
        return blob
    return Blob(blob.digest, blob.size, layer_media_type(oci, gzipped), blob.path)


def assemble(
    base: Optional[PulledImage], layers: Sequence[Layer], spec: ImageSpec, epoch: int, oci: bool
) -> BuiltImage:
    config = config_with_layers(base, layers, spec, epoch)
    annotations = spec.manifest_annotations
    platform = spec.platform
    base_blobs = tuple(convert_layer(b, oci) for b in (base.layers if base else ()))
    blobs = base_blobs + tuple(layer.blob for layer in layers)
    config_media = OCI_CONFIG if oci else DOCKER_CONFIG
    manifest: Dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST if oci else DOCKER_MANIFEST,
        "config": {"mediaType": config_media, "digest": digest_bytes(config), "size": len(config)},
        "layers": [{"mediaType": b.media_type, "digest": b.digest, "size": b.size} for b in blobs],
    }
    # Docker's schema 2 has no annotations; labels still reach Docker through the config.
    if oci and annotations:
        manifest["annotations"] = dict(annotations)
    data = canonical_json(manifest)
    return BuiltImage(
        manifest=data,
        manifest_digest=digest_bytes(data),
        manifest_media_type=manifest["mediaType"],
        config=config,
        config_digest=digest_bytes(config),
        config_media_type=config_media,
        layers=blobs,
        platform=platform,
        oci=oci,
    )


def index_json(image: BuiltImage, names: Sequence[str]) -> bytes:
    """An OCI index naming the image (one entry per name, or one unnamed entry)."""
    descriptor: Dict[str, Any] = {
        "mediaType": image.manifest_media_type,
        "digest": image.manifest_digest,
        "size": len(image.manifest),
        "platform": platform_json(image.platform),
    }
    return layout_index(descriptor, names)


def layout_index(descriptor: Dict[str, Any], names: Sequence[str]) -> bytes:
    """A layout's `index.json`: `descriptor` once per name (or once, unnamed).

    Like BuildKit: `io.containerd.image.name` holds the normalized name, the OCI ref name
    the tag alone.
    """
    entries: List[Dict[str, Any]] = []
    for name in names or [""]:
        entry = dict(descriptor)
        if name:
            ref = normalize(name)
            entry["annotations"] = {
                CONTAINERD_NAME_ANNOTATION: str(ref),
                REF_NAME_ANNOTATION: ref.tag or str(ref),
            }
        entries.append(entry)
    return canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
