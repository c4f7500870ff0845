"""Images taken from OCI archives instead of a registry: `pun build --image-archive REF=FILE`.

The Pants plugin builds an upstream `unikernel_image` first and hands its archive to the
builds that name it in FROM or COPY --from, so a monorepo's layered images never go through a
registry (the way Pants' docker backend feeds upstream images to `docker build` from the
local engine). Every blob is checked against its digest on the way into the blob cache, and a
reference pinned by digest must name the archive's manifest.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from typing import BinaryIO, Dict, Mapping, Optional, Sequence

from pun.diagnostics import error
from pun.oci.cache import BlobCache
from pun.oci.image import PulledImage
from pun.oci.image_index import BuiltIndex
from pun.oci.layers import Blob
from pun.oci.layout import platform_image, read_any
from pun.platform import Platform
from pun.reference import InvalidReference, normalize


def parse_image_archives(values: Sequence[str]) -> Dict[str, str]:
    """`REF=FILE` arguments -> {normalized reference: archive path}."""
    archives: Dict[str, str] = {}
    for value in values:
        reference, sep, path = value.partition("=")
        if not sep or not reference or not path:
            raise error(
                f"--image-archive {value!r} is not REF=FILE",
                hint="e.g. --image-archive examples/base:latest=dist/base.oci.tar",
            )
        archives[archive_key(reference)] = path
    return archives


def archive_key(reference: str) -> str:
    try:
        return str(normalize(reference))
    except InvalidReference as exc:
        raise error(f"--image-archive reference {reference!r}: {exc}") from None


def find_archive(reference: str, archives: Mapping[str, str]) -> Optional[str]:
    if not archives:
        return None
    try:
        key = str(normalize(reference))
    except InvalidReference:
        return None
    return archives.get(key)


def load_archive_image(
    reference: str, archive: str, cache: BlobCache, platform: Platform
) -> PulledImage:
    """The image in `archive` as a pulled base: its layer blobs in the cache. Of a
    multi-platform archive (an image index), the image for `platform`, as from a registry."""
    os.makedirs(cache.root, exist_ok=True)
    scratch = tempfile.mkdtemp(dir=cache.root, prefix="archive-")
    try:
        found = read_any(archive, scratch)
        image = platform_image(found, platform, archive)
        # A pinned reference may name the image or, for an index, the index.
        known = {image.manifest_digest, found.digest if isinstance(found, BuiltIndex) else ""}
        pinned = normalize(reference).digest
        if pinned and pinned not in known:
            raise error(
                f"{reference} is pinned to {pinned}, but {archive} holds "
                f"{image.manifest_digest}",
                hint="build the upstream image again, or fix the digest in the reference",
            )
        layers = []
        for blob in image.layers:
            path = cache.get(blob.digest) or cache.ingest(
                blob.digest, blob.size, functools.partial(_copy, blob.path)
            )
            layers.append(Blob(blob.digest, blob.size, blob.media_type, path))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return PulledImage(
        str(normalize(reference)), image.manifest_digest, image.config, tuple(layers)
    )


def _copy(path: str, sink: BinaryIO) -> None:
    with open(path, "rb") as handle:
        shutil.copyfileobj(handle, sink)
