"""Read an image archive (an OCI image layout as a tar) back into a BuiltImage (or, for a
multi-platform archive, a BuiltIndex of them), to push it.

Both archive kinds pun writes (`type=oci` and `type=docker`) hold an OCI layout, and so do
`skopeo copy ... oci-archive:` and `buildctl --output type=oci` tarballs. Blobs are streamed
out of the tar into a scratch directory and checked against their digests and the sizes their
descriptors give on the way, so a damaged archive fails here, not half-way through a push.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from typing import Any, Dict, List, Union

from pun.diagnostics import PunError, error
from pun.oci.image import DOCKER_MANIFEST, OCI_MANIFEST, BuiltImage
from pun.oci.image_index import INDEX_TYPES, BuiltIndex
from pun.oci.layers import COPY_BUFFER, Blob
from pun.platform import Platform

_MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
_JSON_LIMIT = 4 * 1024 * 1024  # index, manifest and config are small; refuse anything else


def _fail(archive: str, message: str, hint: str = "") -> PunError:
    return error(message, archive, None, hint or "rebuild the archive (e.g. pun build -o type=oci)")


def _member_name(digest: str) -> str:
    algorithm, _, hexa = digest.partition(":")
    return f"blobs/{algorithm}/{hexa}"


def _json(archive: str, data: bytes, what: str) -> Dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _fail(archive, f"{what} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise _fail(archive, f"{what} is not a JSON object")
    return value


def _read_small(tar: tarfile.TarFile, archive: str, name: str) -> bytes:
    try:
        member = tar.getmember(name)
    except KeyError:
        raise _fail(archive, f"the archive has no {name}", "is it an OCI image layout tar?")
    handle = tar.extractfile(member) if member.isfile() else None
    if handle is None or member.size > _JSON_LIMIT:
        raise _fail(archive, f"{name} in the archive is not a small regular file")
    with handle:
        return handle.read()


def _check_size(archive: str, what: str, actual: int, descriptor: Dict[str, Any]) -> None:
    """A descriptor's size must be the blob's: registries and clients refuse a mismatch."""
    declared = descriptor.get("size")
    if declared != actual:
        raise _fail(archive, f"{what} is {actual} bytes, but its descriptor says {declared}")


def _verified_blob(
    tar: tarfile.TarFile, archive: str, descriptor: Dict[str, Any], dest: str
) -> int:
    """Copy one blob to `dest`, checking its sha256 and size; return its size."""
    digest = str(descriptor.get("digest"))
    name = _member_name(digest)
    try:
        member = tar.getmember(name)
    except KeyError:
        raise _fail(archive, f"the archive lacks blob {digest}") from None
    handle = tar.extractfile(member) if member.isfile() else None
    if handle is None:
        raise _fail(archive, f"blob {digest} in the archive is not a regular file")
    hasher = hashlib.sha256()
    with handle, open(dest, "wb") as out:
        for chunk in iter(lambda: handle.read(COPY_BUFFER), b""):
            hasher.update(chunk)
            out.write(chunk)
    if f"sha256:{hasher.hexdigest()}" != digest:
        raise _fail(archive, f"blob {digest} in the archive does not match its digest")
    _check_size(archive, f"blob {digest}", member.size, descriptor)
    return member.size


def _platform(config: Dict[str, Any]) -> Platform:
    return Platform(
        os=str(config.get("os") or "linux"),
        architecture=str(config.get("architecture") or "amd64"),
        variant=str(config.get("variant") or ""),
    )


def read_archive(archive: str, scratch: str) -> BuiltImage:
    """The one image in `archive`; its blobs are written under `scratch` (a directory)."""
    found = read_any(archive, scratch)
    if not isinstance(found, BuiltImage):
        raise _fail(
            archive,
            f"the archive holds an image index of {len(found.images)} platforms; "
            "this needs a single-platform image",
            "build one platform (--platform os/arch), or push the index with `pun push`",
        )
    return found


def read_platform_image(archive: str, scratch: str, platform: Platform) -> BuiltImage:
    """The archive's image; from a multi-platform archive, the one for `platform`, as a
    runtime on that platform would choose it (`pun run` boots the host's)."""
    return platform_image(read_any(archive, scratch), platform, archive)


def platform_image(
    found: Union[BuiltImage, BuiltIndex], platform: Platform, archive: str
) -> BuiltImage:
    """`found` itself, or its index's image for `platform` (an error listing the others)."""
    if isinstance(found, BuiltImage):
        return found
    for image in found.images:
        if image.platform == platform:
            return image
    have = ", ".join(str(image.platform) for image in found.images)
    raise _fail(
        archive,
        f"the archive's image index has no image for {platform} (it has {have})",
        f"build it for {platform} too (--platform {have},{platform})",
    )


def read_any(archive: str, scratch: str) -> Union[BuiltImage, BuiltIndex]:
    """The one image, or the one image index (multi-platform), in `archive`."""
    try:
        tar = tarfile.open(archive, mode="r:")
    except (OSError, tarfile.TarError) as exc:
        raise _fail(archive, f"cannot read the archive: {exc}", "check the path") from None
    with tar:
        index = _json(archive, _read_small(tar, archive, "index.json"), "index.json")
        entries: List[Dict[str, Any]] = [
            m
            for m in index.get("manifests") or []
            if m.get("mediaType") in _MANIFEST_TYPES + INDEX_TYPES
        ]
        digests = sorted({str(m.get("digest")) for m in entries})
        if len(digests) != 1:
            raise _fail(
                archive,
                f"the archive holds {len(digests)} image manifests; pushing needs exactly one",
                "push a single-platform archive (one manifest in index.json)",
            )
        entry = next(m for m in entries if m.get("digest") == digests[0])
        if entry.get("mediaType") in _MANIFEST_TYPES:
            return _read_image(tar, archive, entry, scratch, "")
        data = _checked(tar, archive, entry, "image index")
        children = _json(archive, data, f"image index {digests[0]}").get("manifests") or []
        if not children or any(c.get("mediaType") not in _MANIFEST_TYPES for c in children):
            raise _fail(archive, f"image index {digests[0]} must list image manifests only")
        images = tuple(
            _read_image(tar, archive, child, scratch, f"{n}-") for n, child in enumerate(children)
        )
    return BuiltIndex(data, digests[0], str(entry["mediaType"]), images)


def _checked(tar: tarfile.TarFile, archive: str, descriptor: Dict[str, Any], what: str) -> bytes:
    """A small blob (manifest, config, index), checked against its descriptor."""
    digest = str(descriptor.get("digest"))
    data = _read_small(tar, archive, _member_name(digest))
    if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
        raise _fail(archive, f"{what} {digest} does not match its digest")
    _check_size(archive, f"{what} {digest}", len(data), descriptor)
    return data


def _read_image(
    tar: tarfile.TarFile, archive: str, entry: Dict[str, Any], scratch: str, prefix: str
) -> BuiltImage:
    manifest_digest = str(entry.get("digest"))
    media_type = str(entry["mediaType"])
    manifest_bytes = _checked(tar, archive, entry, "manifest")
    manifest = _json(archive, manifest_bytes, f"manifest {manifest_digest}")
    config_desc = manifest.get("config") or {}
    config_digest = str(config_desc.get("digest"))
    config = _checked(tar, archive, config_desc, "config")
    layers = []
    for n, layer in enumerate(manifest.get("layers") or []):
        path = os.path.join(scratch, f"{prefix}layer-{n}")
        size = _verified_blob(tar, archive, layer, path)
        layers.append(Blob(str(layer.get("digest")), size, str(layer.get("mediaType")), path))
    return BuiltImage(
        manifest=manifest_bytes,
        manifest_digest=manifest_digest,
        manifest_media_type=media_type,
        config=config,
        config_digest=config_digest,
        config_media_type=str(config_desc.get("mediaType")),
        layers=tuple(layers),
        platform=_platform(_json(archive, config, "the image config")),
        oci=media_type == OCI_MANIFEST,
    )
