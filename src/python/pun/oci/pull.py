"""Pull a base image into the blob cache: manifest (picked from an index by platform), config,
layers. A reference pinned by digest whose blobs are all cached needs no network at all."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional

from pun.diagnostics import error
from pun.oci.cache import BlobCache
from pun.oci.image import DOCKER_MANIFEST_LIST, OCI_INDEX, PulledImage
from pun.oci.layers import Blob
from pun.oci.registry.client import Manifest, RegistryClient
from pun.platform import Platform
from pun.progress import Progress
from pun.reference import InvalidReference, normalize

_INDEX_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST)


def pull(
    reference: str,
    platform: Platform,
    cache: BlobCache,
    progress: Progress,
    insecure: bool = False,
    archives: Mapping[str, str] = {},
    layers: bool = True,
) -> PulledImage:
    """`archives` ({normalized reference: OCI archive}) answer before any registry does.
    `layers=False`: the manifest and config only (what planning needs), no layer blobs."""
    from pun.oci.archive_images import find_archive, load_archive_image

    archive = find_archive(reference, archives)
    if archive is not None:
        return load_archive_image(reference, archive, cache, platform)
    try:
        ref = normalize(reference)
    except InvalidReference as exc:
        raise error(f"base image {reference!r}: {exc}", hint="check the FROM line") from None
    client = RegistryClient(ref.domain, ref.path, insecure=insecure)
    manifest = _cached_manifest(cache, ref.digest) if ref.digest else None
    if manifest is None:
        manifest = client.get_manifest(ref.digest or ref.tag or "latest")
        cache.put_bytes(manifest.digest, manifest.data)
    document = _parse(manifest.data, reference)
    if manifest.media_type in _INDEX_TYPES or "manifests" in document:
        chosen = select_platform(document, platform, reference)
        manifest = _cached_manifest(cache, chosen) or client.get_manifest(chosen)
        cache.put_bytes(manifest.digest, manifest.data)
        document = _parse(manifest.data, reference)
    config_desc = document.get("config") or {}
    blobs: List[Blob] = []
    config_path = _fetch(client, cache, config_desc, progress, "config")
    for layer in (document.get("layers") or []) if layers else []:
        path = _fetch(client, cache, layer, progress, "layer")
        blobs.append(Blob(layer["digest"], int(layer["size"]), layer.get("mediaType", ""), path))
    with open(config_path, "rb") as handle:
        config = handle.read()
    return PulledImage(str(ref), manifest.digest, config, tuple(blobs))


def _cached_manifest(cache: BlobCache, digest: str) -> Optional[Manifest]:
    path = cache.get(digest)
    if path is None:
        return None
    with open(path, "rb") as handle:
        data = handle.read()
    media_type = str(json.loads(data.decode("utf-8")).get("mediaType", ""))
    return Manifest(data, media_type, digest)


def _parse(data: bytes, reference: str) -> Dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise error(
            f"base image {reference}: the registry sent a manifest that is not JSON"
        ) from None
    if not isinstance(value, dict) or value.get("schemaVersion") != 2:
        raise error(
            f"base image {reference}: only schema 2 / OCI manifests are supported",
            hint="push the image again with a current docker or buildx",
        )
    return value


def _fetch(
    client: RegistryClient,
    cache: BlobCache,
    descriptor: Dict[str, Any],
    progress: Progress,
    what: str,
) -> str:
    digest = str(descriptor.get("digest", ""))
    size = int(descriptor.get("size", 0))
    cached = cache.get(digest)
    if cached is not None:
        return cached
    progress.start(f"pulling {what} {digest[:19]}", size)
    path = cache.ingest(digest, size, lambda sink: client.fetch_blob(digest, sink, progress))
    progress.finish()
    return path


def select_platform(index: Dict[str, Any], platform: Platform, reference: str) -> str:
    """The digest of the index entry for `platform` (variant matched when both name one)."""
    available: List[str] = []
    for entry in index.get("manifests") or []:
        p = entry.get("platform") or {}
        os_name, arch, variant = p.get("os", ""), p.get("architecture", ""), p.get("variant", "")
        available.append("/".join(x for x in (os_name, arch, variant) if x))
        if os_name != platform.os or arch != platform.architecture:
            continue
        if platform.variant and variant and _variant(variant) != _variant(platform.variant):
            continue
        return str(entry["digest"])
    raise error(
        f"base image {reference} has no manifest for platform {platform} "
        f"(it has: {', '.join(sorted(set(available))) or 'none'})",
        hint="pass --platform (or FROM --platform=...) with one of those; unikraft.org "
        "images use the hypervisor as the OS, chosen by the com.urunc.unikernel.hypervisor label",
    )


def _variant(value: str) -> str:
    return "" if value in ("v8", "8") else value
