"""A multi-platform image: one image index over one manifest per platform.

Shaped as BuildKit v0.32.2's image exporter shapes one (`exporter/containerimage/writer.go`,
`ImageWriter.Commit` with several platforms): an `application/vnd.oci.image.index.v1+json`
(Docker's manifest list with `oci-mediatypes=false`) whose descriptors carry each manifest's
media type, digest, size and `platform`, in the order the platforms were given; no
annotations on the index (each manifest keeps its own, from its own LABELs). In an OCI layout
`index.json` names the index once per image name, as BuildKit's `oci` exporter does.
Registries get every child before the index (children first, then the index by digest, then
each tag), so no tag ever points at a missing manifest.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from pun.oci.archives import OCI_LAYOUT, Entry, blob_name
from pun.oci.image import (
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    BuiltImage,
    canonical_json,
    digest_bytes,
    layout_index,
    platform_json,
)
from pun.oci.layers import Blob
from pun.progress import Progress

INDEX_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST)


@dataclass(frozen=True)
class BuiltIndex:
    data: bytes  # the index JSON
    digest: str
    media_type: str
    images: Tuple[BuiltImage, ...]  # in the index's order


def assemble_index(images: Sequence[BuiltImage], oci: bool) -> BuiltIndex:
    manifests = [
        {
            "mediaType": image.manifest_media_type,
            "digest": image.manifest_digest,
            "size": len(image.manifest),
            "platform": platform_json(image.platform),
        }
        for image in images
    ]
    media_type = OCI_INDEX if oci else DOCKER_MANIFEST_LIST
    data = canonical_json({"schemaVersion": 2, "mediaType": media_type, "manifests": manifests})
    return BuiltIndex(data, digest_bytes(data), media_type, tuple(images))


def index_layout_entries(index: BuiltIndex, names: Sequence[str]) -> Dict[str, Entry]:
    """The OCI layout of an index: `index.json` pointing at it, and every blob below it."""
    descriptor: Dict[str, Any] = {
        "mediaType": index.media_type,
        "digest": index.digest,
        "size": len(index.data),
    }
    entries: Dict[str, Entry] = {
        "oci-layout": OCI_LAYOUT,
        "index.json": layout_index(descriptor, names),
        blob_name(index.digest): index.data,
    }
    for image in index.images:
        entries[blob_name(image.manifest_digest)] = image.manifest
        entries[blob_name(image.config_digest)] = image.config
        for blob in image.layers:
            entries[blob_name(blob.digest)] = (blob.path, blob.size)
    return entries


def push_index(
    index: BuiltIndex,
    workdir: str,
    names: Sequence[str],
    progress: Progress,
    insecure: bool = False,
) -> List[str]:
    """Push every platform's image, then the index by digest, then each tag (to the index).

    Returns `repository@index-digest` per repository. `workdir` receives the configs' bytes.
    """
    from pun.oci.push import parse_names, upload_missing
    from pun.oci.registry.client import RegistryClient

    configs = []
    for n, image in enumerate(index.images):
        path = os.path.join(workdir, f"config-{n}.json")
        with open(path, "wb") as handle:
            handle.write(image.config)
        configs.append(Blob(image.config_digest, len(image.config), image.config_media_type, path))
    by_repository: Dict[Tuple[str, str], List[Optional[str]]] = {}
    for ref in parse_names(names):
        by_repository.setdefault((ref.domain, ref.path), []).append(ref.tag)
    pushed = []
    for (domain, path), tags in sorted(by_repository.items()):
        client = RegistryClient(domain, path, push=True, insecure=insecure)
        for image, config in zip(index.images, configs):
            upload_missing(client, (*image.layers, config), progress)
            client.put_manifest(image.manifest_digest, image.manifest, image.manifest_media_type)
        client.put_manifest(index.digest, index.data, index.media_type)
        for tag in tags:
            if tag:
                client.put_manifest(tag, index.data, index.media_type)
        pushed.append(f"{domain}/{path}@{index.digest}")
    return pushed
