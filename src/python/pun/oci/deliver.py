"""The last step of every builder: write a built image as the requested output, or push it.

Both builders end here, so `type=oci`, `type=docker` and `type=image,push=true` are written by
the same code whichever builder made the layers.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import Iterator, Tuple

from pun.atomic import atomic_file
from pun.diagnostics import error
from pun.oci.archives import docker_entries, layout_entries, write_archive
from pun.oci.cache import BlobCache
from pun.oci.image import BuiltImage
from pun.oci.layers import Compression
from pun.oci.output_spec import OutputSpec
from pun.oci.push import parse_names, push
from pun.progress import Progress


@contextlib.contextmanager
def work_directory(cache: BlobCache) -> Iterator[str]:
    # Layers are written next to the cache (usually a real disk, unlike a tmpfs /tmp).
    root = os.path.join(cache.root, "work")
    try:
        os.makedirs(root, exist_ok=True)
    except OSError as exc:
        raise error(
            f"cannot create {root}: {exc.strerror}",
            hint="set XDG_CACHE_HOME or --cache-dir to a writable directory",
        ) from None
    directory = tempfile.mkdtemp(dir=root, prefix="build-")
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def check_image_output(output: OutputSpec) -> None:
    """Refuse what no builder can deliver, before any work is done."""
    parse_names(output.names)  # a bad name= fails before the build, not after it
    if output.type in ("oci", "docker") and output.dest != "-":
        from pun.atomic import check_file_destination

        check_file_destination(
            output.dest, "dest=", "image.tar"
        )  # so does a dest= that cannot be written
    if output.type == "image" and not output.flag("push"):
        raise error(
            "type=image without push=true: pun has no image store",
            hint="add push=true, or write an archive with type=oci or type=docker",
        )


def oci_media_types(output: OutputSpec) -> bool:
    """OCI media types unless the output is a docker tarball (or oci-mediatypes= says)."""
    return output.flag("oci-mediatypes", default=output.type != "docker")


def compression(output: OutputSpec) -> Compression:
    return Compression(output.get("compression", "gzip"), int(output.get("compression-level") or 6))


def deliver(
    image: BuiltImage,
    output: OutputSpec,
    epoch: int,
    workdir: str,
    progress: Progress,
) -> Tuple[str, ...]:
    """Write `image` to output.dest, or push it; return the pushed references."""
    if output.type == "image":
        config_path = os.path.join(workdir, "config.json")
        with open(config_path, "wb") as handle:
            handle.write(image.config)
        return tuple(
            push(image, config_path, output.names, progress, output.flag("registry.insecure"))
        )
    entries = (layout_entries if output.type == "oci" else docker_entries)(image, output.names)
    with atomic_file(output.dest) as sink:
        write_archive(entries, sink, epoch, progress)
    return ()
