"""An image archive's root filesystem in a directory, by pun's own layer reader (as a container
runtime would see it: layers applied in order, whiteouts honoured)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Dict, Mapping

from pun.diagnostics import error
from pun.run.settings import ImageConfig


@dataclass(frozen=True)
class UnpackedImage:
    rootfs: str
    annotations: Mapping[str, str]  # the manifest's
    config: ImageConfig


def unpack(archive: str, scratch: str) -> UnpackedImage:
    """Read `archive` (an OCI layout tar: pun's oci or docker output, skopeo's oci-archive; of
    a multi-platform archive the host's platform) and write its root filesystem under `scratch`."""
    from pun.oci.baselayers import scan_layers
    from pun.oci.layout import read_platform_image
    from pun.platform import build_platform
    from pun.progress import Progress
    from pun.solve.tree_files import write_tree

    blobs = os.path.join(scratch, "blobs")
    rootfs = os.path.join(scratch, "rootfs")
    os.mkdir(blobs)
    os.mkdir(rootfs)
    image = read_platform_image(archive, blobs, build_platform())  # an index: the host's image
    manifest = _object(image.manifest, archive, "the manifest")
    config = _object(image.config, archive, "the image config")
    layer_paths = [blob.path for blob in image.layers]
    write_tree(scan_layers(layer_paths), rootfs, layer_paths, 0, Progress("quiet"), _ignore)
    annotations = {str(k): str(v) for k, v in (manifest.get("annotations") or {}).items()}
    return UnpackedImage(rootfs, annotations, ImageConfig.parse(config))


def _ignore(_: str) -> None:
    """Files a local output cannot hold (device nodes) do not matter for booting."""


def _object(data: bytes, archive: str, what: str) -> Dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        value = None
    if not isinstance(value, dict):
        raise error(f"{what} is not a JSON object", archive, hint="rebuild the archive")
    return value


def in_rootfs(rootfs: str, path: str, key: str, where: str) -> str:
    """The host path of an image file urunc would hand to the monitor, resolving symlinks
    inside the root filesystem (urunc uses securejoin) and refusing anything but a file."""
    root = os.path.realpath(rootfs)
    host = os.path.realpath(os.path.join(root, path.lstrip("/")))
    if os.path.commonpath([root, host]) != root or not os.path.isfile(host):
        raise error(
            f"{key}={path}: the image has no such file",
            where,
            hint=f"COPY the file to {path} in the Containerfile, or fix the label",
        )
    return host
