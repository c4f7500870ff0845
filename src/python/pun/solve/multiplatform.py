"""Build one image per platform and deliver them as one multi-platform image.

Each platform is planned on its own (`pun.api.generate` with that target platform, so
`TARGETARCH` & co. and the base image's platform are the platform's) and built on its own by
either builder; this module only puts the results together, as BuildKit's exporters do for a
multi-platform solve (BuildKit v0.32.2):

- `type=oci` / `type=image,push=true`: one image index over the manifests
  (pun.oci.image_index; `exporter/containerimage/writer.go`);
- `type=local`: one directory per platform, `DEST/linux_amd64/…` (`exporter/local/export.go`,
  `platform-split`, on by default for several platforms);
- `type=docker`: refused, as BuildKit's docker exporter refuses ("does not currently support
  exporting manifest lists"): `docker load` takes one platform.

Each platform is built by the ordinary single-platform path (`pun.solve.build`, either
builder) into an archive that is read back (blobs checked), so each child is byte for byte
that platform's own image; with the buildctl builder that is one `buildctl build` per
platform, and pun writes every config and manifest and the index itself, as for one platform.
"""

from __future__ import annotations

import os
from typing import Callable, List, NamedTuple, Optional, Sequence

from pun.diagnostics import error
from pun.imagespec import ImageSpec
from pun.oci.output_spec import OutputSpec
from pun.platform import platform_key
from pun.solve.options import EMBEDDED, BuildOptions, BuildResult, PlatformImage


class PlatformBuild(NamedTuple):
    """One platform's planned build: its Definition and image spec (which names the platform)."""

    definition: bytes
    image: ImageSpec


# Builds platform N (an index into `builds`) into the given single-platform output.
BuildOne = Callable[[int, OutputSpec], BuildResult]


def build_platforms(
    builds: Sequence[PlatformBuild],
    context_dir: str,
    output: OutputSpec,
    builder: str = EMBEDDED,
    options: BuildOptions = BuildOptions(),
    build_one: Optional[BuildOne] = None,
) -> BuildResult:
    """Build every platform into one output (an index, or one rootfs directory per platform).

    `build_one` builds one platform; the default is `pun.solve.build` of its Definition and
    spec (`pun build` passes one that makes a rootfs artifact first, when asked for)."""
    from pun.solve import build

    def default(n: int, out: OutputSpec) -> BuildResult:
        return build(builds[n].definition, context_dir, builds[n].image, out, builder, options)

    one = build_one or default
    platforms = [b.image.platform for b in builds]
    if len(set(platforms)) != len(platforms):
        raise error(
            "two planned builds have the same platform: " + ", ".join(str(p) for p in platforms),
            hint="give each platform once",
        )
    if len(builds) == 1:
        return one(0, output)
    if output.type == "docker":
        raise error(
            f"type=docker holds one platform; {len(builds)} were asked for "
            f"({', '.join(str(p) for p in platforms)})",
            hint="write type=oci (an image index) or push with type=image,push=true, "
            "or build one --platform for docker load",
        )
    if output.type == "local":
        return _local(builds, output, builder, one)
    return _index(builds, output, builder, options, one)


def _local(
    builds: Sequence[PlatformBuild], output: OutputSpec, builder: str, one: BuildOne
) -> BuildResult:
    from pun.atomic import atomic_directory

    with atomic_directory(output.dest) as directory:
        for n, planned in enumerate(builds):
            dest = os.path.join(directory, platform_key(planned.image.platform))
            one(n, OutputSpec("local", (("dest", dest),)))
    return BuildResult(builder, output)


# What a platform's own build takes from the requested output: how its blobs are encoded.
_CARRIED = ("compression", "compression-level", "oci-mediatypes")


def _index(
    builds: Sequence[PlatformBuild],
    output: OutputSpec,
    builder: str,
    options: BuildOptions,
    one: BuildOne,
) -> BuildResult:
    from pun.atomic import atomic_file
    from pun.oci.archives import write_archive
    from pun.oci.cache import BlobCache, default_cache_dir
    from pun.oci.deliver import check_image_output, oci_media_types, work_directory
    from pun.oci.image import BuiltImage
    from pun.oci.image_index import assemble_index, index_layout_entries, push_index
    from pun.oci.layout import read_archive
    from pun.progress import Progress

    check_image_output(output)
    progress = Progress(options.progress)
    cache = BlobCache(options.cache_dir or default_cache_dir())
    carried = tuple((k, output.get(k)) for k in _CARRIED if output.get(k))
    with work_directory(cache) as workdir:
        images: List[BuiltImage] = []
        for n in range(len(builds)):
            # Each platform is an ordinary single-platform build (either builder, unchanged),
            # into an unnamed archive read back with every blob checked: so each manifest in
            # the index is byte for byte that platform's own image.
            archive = os.path.join(workdir, f"platform-{n}.oci.tar")
            alone = OutputSpec("oci", (("dest", archive),) + carried)
            one(n, alone)
            blobs = os.path.join(workdir, f"platform-{n}")
            os.mkdir(blobs)
            images.append(read_archive(archive, blobs))
            os.unlink(archive)
        index = assemble_index(images, oci_media_types(output))
        pushed: List[str] = []
        if output.type == "image":
            pushed = push_index(
                index, workdir, output.names, progress, output.flag("registry.insecure")
            )
        else:
            with atomic_file(output.dest) as sink:
                write_archive(
                    index_layout_entries(index, output.names),
                    sink,
                    options.source_date_epoch,
                    progress,
                )
    return BuildResult(
        builder,
        output,
        index.digest,
        None,
        tuple(pushed),
        tuple(PlatformImage(str(i.platform), i.manifest_digest, i.config_digest) for i in images),
    )
