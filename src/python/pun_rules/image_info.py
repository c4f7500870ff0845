"""`NAME.image.json`: what an image archive `pants package` wrote holds, for people and scripts.

One shape for every image target (`unikernel_image`, `pun_frontend_image`), versioned: a reader
checks `version` (today 1) and `kind`; a new field is added in a backward-compatible way, and
a change of meaning bumps the version. What only one kind has goes into `details` (README,
"NAME.image.json").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Tuple

VERSION = 1


@dataclass(frozen=True)
class ImageInfo:
    kind: str  # the target's alias: "unikernel_image" | "pun_frontend_image"
    address: str
    archive: str  # the archive's path under dist/
    digest: str  # the manifest's digest (what a registry and skopeo call the image's Digest)
    config_digest: str
    names: Tuple[str, ...]  # REPOSITORY:TAG names in the archive's index
    labels: Mapping[str, str]  # the image config's Labels
    annotations: Mapping[str, str]  # the manifest's annotations (none for Docker media types)
    platform: str  # OS/ARCH[/VARIANT] of the image config
    output: str  # "oci" | "docker": the archive's format
    pants_hash: str  # the `{pants.hash}` of the target: changes exactly when the image would
    details: Mapping[str, Any] = field(default_factory=dict)  # per kind, see the README
    # Per platform, in index order: {"platform", "digest", "config_digest", "labels",
    # "annotations"}; one entry (the image itself) for a single-platform image. For several,
    # `digest` is the image index's and `config_digest` is "".
    platforms: Tuple[Mapping[str, Any], ...] = ()

    @property
    def tags(self) -> Tuple[str, ...]:
        return tuple(sorted({name.rsplit(":", 1)[1] for name in self.names}))

    def to_json(self) -> Dict[str, Any]:
        return {
            "version": VERSION,
            "kind": self.kind,
            "address": self.address,
            "archive": self.archive,
            "digest": self.digest,
            "config_digest": self.config_digest,
            "names": list(self.names),
            "tags": list(self.tags),
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "platform": self.platform,
            "output": self.output,
            "pants_hash": self.pants_hash,
            "details": dict(self.details),
            "platforms": [dict(p) for p in self.platforms],
        }

    def to_bytes(self) -> bytes:
        return (json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> "ImageInfo":
        """Read a `NAME.image.json` object; ValueError for another version or shape."""
        if value.get("version") != VERSION:
            raise ValueError(
                f"NAME.image.json version {value.get('version')!r}: this pun reads {VERSION}"
            )
        try:
            return cls(
                kind=str(value["kind"]),
                address=str(value["address"]),
                archive=str(value["archive"]),
                digest=str(value["digest"]),
                config_digest=str(value["config_digest"]),
                names=tuple(value["names"]),
                labels=dict(value["labels"]),
                annotations=dict(value["annotations"]),
                platform=str(value["platform"]),
                output=str(value["output"]),
                pants_hash=str(value["pants_hash"]),
                details=dict(value.get("details") or {}),
                platforms=tuple(dict(p) for p in value.get("platforms") or ()),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a NAME.image.json object: {exc}") from None
