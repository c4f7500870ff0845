"""The image writer: every image pun makes is written by `write_image`.

Its callers: the embedded builder (layers from the replayed FileOps), the buildctl builder
(the layers BuildKit made, pun.oci.buildkit_layers) and the frontend image target
(pun_rules/sandbox/freeze_frontend.py: one layer of a frozen pun). One function, so the three
agree on the layer tar, the config (ImageSpec.config_for), the manifest, the index, the
archive formats and the push.

    written = write_image(spec, parse_output_spec("type=oci,dest=x.oci.tar"), workdir,
                          layers=[NewLayer("copy a /a", entries)], open_content=opener)
    written.image.manifest_digest
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

from pun.diagnostics import error
from pun.imagespec import ImageSpec
from pun.oci.deliver import check_image_output, compression, deliver, oci_media_types
from pun.oci.fstree import Kind, Node
from pun.oci.image import BuiltImage, PulledImage, assemble
from pun.oci.layers import ContentOpener, Layer, write_layer
from pun.oci.output_spec import OutputSpec
from pun.progress import Progress


@dataclass(frozen=True)
class NewLayer:
    """A layer to write: its entries in tar order and the history's `created_by`. A layer
    without entries adds nothing (a FileOp that wrote no file makes no layer, as BuildKit)."""

    created_by: str
    entries: Sequence[Tuple[str, Node]]


@dataclass(frozen=True)
class WrittenImage:
    image: BuiltImage
    pushed: Tuple[str, ...] = ()  # the references pushed, for type=image


def write_image(
    spec: ImageSpec,
    output: OutputSpec,
    workdir: str,
    *,
    base: Optional[PulledImage] = None,
    layers: Sequence[Union[NewLayer, Layer]] = (),
    open_content: Optional[ContentOpener] = None,
    epoch: int = 0,
    progress: Optional[Progress] = None,
) -> WrittenImage:
    """Write the image `spec` describes, over `base`, as `output` (type=oci, docker, or
    image with push=true), with blobs in `workdir`.

    `layers` are the build's, bottom first: a NewLayer is written here (its files' bytes read
    through `open_content`), a Layer was already written (BuildKit's). `epoch` is
    SOURCE_DATE_EPOCH: the mtime clamp, `created` and the archive's entry times.
    """
    check_image_output(output)
    progress = progress or Progress("quiet")
    oci = oci_media_types(output)
    layer_compression = compression(output)
    written: List[Layer] = []
    for layer in layers:
        if isinstance(layer, Layer):
            written.append(layer)
            continue
        if not layer.entries:
            continue
        if open_content is None:
            raise error("internal error: write_image got new layers but no content opener")
        size = sum(node.size for _, node in layer.entries if node.kind is Kind.FILE)
        progress.start(f"writing layer {len(written) + 1} ({layer.created_by[:60]})", size)
        written.append(
            write_layer(
                layer.entries,
                workdir,
                open_content,
                epoch,
                layer_compression,
                oci,
                layer.created_by,
                progress,
            )
        )
        progress.finish()
    image = assemble(base, written, spec, epoch, oci)
    return WrittenImage(image, deliver(image, output, epoch, workdir, progress))
