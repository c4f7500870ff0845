"""`pun build`: Containerfile -> LLB (the core's generate()) -> an image, via either builder.

stdout carries data only (the metadata JSON with `--metadata-file -`, or the archive with
`dest=-`); diagnostics and progress go to stderr. Exit status: 0 success, 1 failure, 2 usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from pun.buildplan import PlannedImage
from pun.cli.options import (
    add_cache_dir_argument,
    add_generate_arguments,
    add_image_archive_argument,
    add_insecure_registry_argument,
    add_progress_argument,
    add_source_arguments,
    generate_options,
    platforms,
    read_containerfile,
    run_command,
    source_date_epoch,
)
from pun.diagnostics import Diagnostic, error, write_diagnostics
from pun.imagespec import BaseSpec, ImageSpec
from pun.keyvalue import parse_pairs
from pun.oci.output_spec import OutputSpec
from pun.solve.options import BUILDCTL, BUILDERS, EMBEDDED, BuildOptions, BuildResult, SourceLine

EXIT_OK = 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pun build",
        description="Build a unikernel image from a Containerfile (FROM/COPY/LABEL).",
        epilog="outputs: type=oci,dest=FILE | type=docker,dest=FILE[,name=REF] | "
        "type=local,dest=DIR | type=image,name=REF,push=true",
        allow_abbrev=False,
    )
    add_source_arguments(parser)
    parser.add_argument(
        "--definition",
        action="append",
        default=[],
        metavar="FILE",
        help="build this LLB definition (with --image-spec) instead of reading a Containerfile; "
        "repeat the pair for a multi-platform image (one per platform)",
    )
    parser.add_argument(
        "--image-spec",
        action="append",
        default=[],
        metavar="FILE",
        help="the image spec planned with --definition (pun.buildplan)",
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        action="append",
        metavar="SPEC",
        help="where the result goes, in buildctl's --output syntax (once)",
    )
    parser.add_argument(
        "--builder",
        choices=BUILDERS,
        help="embedded (in-process, default) or buildctl (default when "
        "BUILDKIT_HOST or --buildkit-addr is set)",
    )
    parser.add_argument("--buildkit-addr", metavar="ADDR", help="BuildKit address for buildctl")
    parser.add_argument(
        "--buildctl",
        default=os.environ.get("BUILDCTL", "buildctl"),
        metavar="PATH",
        help="the buildctl program (default: $BUILDCTL or buildctl)",
    )
    add_generate_arguments(parser)
    parser.add_argument(
        "--annotation",
        dest="annotations",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an extra manifest annotation, merged over the LABELs (repeatable)",
    )
    parser.add_argument(
        "--squash", action="store_true", help="put all changes into one layer (embedded builder)"
    )
    parser.add_argument(
        "--source-date-epoch",
        type=int,
        metavar="SECONDS",
        help="timestamp for created and for clamping mtimes (default: $SOURCE_DATE_EPOCH, else 0)",
    )
    add_progress_argument(parser)
    add_cache_dir_argument(parser, "base images")
    add_insecure_registry_argument(parser, "pull the base image")
    add_image_archive_argument(parser, "a FROM or COPY --from image; embedded builder")
    parser.add_argument(
        "--metadata-file",
        metavar="FILE",
        help="write the result (digests, names) as JSON; '-' for stdout",
    )
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    return run_command("pun build", lambda: _build_and_report(args), "no output was written")


def _build_and_report(args: argparse.Namespace) -> int:
    if args.metadata_file and args.metadata_file != "-":
        from pun.atomic import check_file_destination

        # Before building: a build whose metadata cannot be written would fail after its
        # output was written.
        check_file_destination(args.metadata_file, "--metadata-file", "metadata.json")
    result = _build(args)
    if args.metadata_file:
        text = json.dumps(result.metadata(), indent=2, sort_keys=True) + "\n"
        if args.metadata_file == "-":
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            from pun.atomic import atomic_file

            with atomic_file(args.metadata_file) as handle:
                handle.write(text.encode("utf-8"))
    return EXIT_OK


def _build(args: argparse.Namespace) -> BuildResult:
    from pun.solve import parse_output_spec

    if len(args.output) > 1:
        # Taking the last one silently would leave the user without the outputs named before.
        raise error(
            f"--output is given {len(args.output)} times: pun build writes one output",
            hint="run pun build once per output (the second run is served by the blob cache)",
        )
    output = parse_output_spec(args.output[0])
    if args.metadata_file == "-" and output.get("dest") == "-":
        raise error(
            "--metadata-file - and dest=- would both write to stdout",
            hint="write the metadata to a file, or the archive to a file",
        )
    builder = args.builder or (
        BUILDCTL if args.buildkit_addr or os.environ.get("BUILDKIT_HOST") else EMBEDDED
    )
    plans = _plan(args)
    if args.squash and builder == BUILDCTL:
        raise error(
            "--squash works with the embedded builder only",
            hint="drop --squash or use --builder embedded",
        )
    options = BuildOptions(
        source_date_epoch=source_date_epoch(args.source_date_epoch),
        squash=args.squash,
        cache_dir=args.cache_dir,
        progress=args.progress,
        buildkit_addr=args.buildkit_addr or os.environ.get("BUILDKIT_HOST") or None,
        buildctl=args.buildctl,
        insecure_registry=args.insecure_registry,
        image_archives=_image_archives(args.image_archive),
        sources=tuple(
            SourceLine(d, planned.path, line)
            for _, planned in plans
            for d, line in planned.source_map
        ),
    )
    annotations = parse_pairs(args.annotations, "--annotation")
    from pun.solve.multiplatform import PlatformBuild, build_platforms  # one platform: build()

    builds = [PlatformBuild(d, p.image.with_annotations(annotations)) for d, p in plans]

    def build_one(n: int, out: OutputSpec) -> BuildResult:
        return _build_one(
            args, builds[n].definition, plans[n][1], builds[n].image, out, builder, options
        )

    return build_platforms(builds, args.context, output, builder, options, build_one)


def _build_one(
    args: argparse.Namespace,
    definition: bytes,
    planned: PlannedImage,
    image: ImageSpec,
    output: OutputSpec,
    builder: str,
    options: BuildOptions,
) -> BuildResult:
    """Build one platform's image, making its rootfs artifact first when it asks for one."""
    from pun.solve import build

    if planned.rootfs is None:
        return build(definition, args.context, image, output, builder, options)
    import dataclasses
    import tempfile

    from pun.convert import ROOTFS_LOCAL_NAME
    from pun.rootfs.make import make_artifact

    # The rootfs artifact is made here, from the context, and reaches either builder as the
    # local source the LLB copies it from (pun.convert.ROOTFS_LOCAL_NAME).
    with tempfile.TemporaryDirectory(prefix="pun-rootfs-") as made:
        make_artifact(
            planned.rootfs,
            args.context,
            made,
            options.source_date_epoch,
            planned.context_excludes,
            planned.path,
            image.platform,
            options.cache_dir,
            options.insecure_registry,
        )
        options = dataclasses.replace(options, locals=((ROOTFS_LOCAL_NAME, made),))
        return build(definition, args.context, image, output, builder, options)


def _image_archives(values: Sequence[str]) -> Tuple[Tuple[str, str], ...]:
    from pun.oci.archive_images import parse_image_archives

    return tuple(sorted(parse_image_archives(values).items()))


# Flags that shape the LLB: a planned build (--definition) must not be given them.
_PLANNING_FLAGS = ("file", "build_args", "platform", "base_platform", "local_unique_id", "strict")


def _plan(args: argparse.Namespace) -> List[Tuple[bytes, PlannedImage]]:
    """The Definition and image spec of each platform: read from --definition/--image-spec
    pairs, or generated (once per `--platform`, docker buildx's comma list)."""
    if args.definition or args.image_spec:
        if len(args.definition) != len(args.image_spec):
            raise error(
                "--definition and --image-spec go together",
                hint="pass both files of each planned build, or neither and a Containerfile",
            )
        given = [f"--{n.replace('_', '-')}" for n in _PLANNING_FLAGS if getattr(args, n, None)]
        if given:
            raise error(
                f"{', '.join(given)} shape the LLB, which --definition already fixes",
                hint="drop them, or build from the Containerfile instead of --definition",
            )
        from pun.buildplan import read_spec_file

        return [
            (_read(d, "--definition"), read_spec_file(_read(i, "--image-spec"), i))
            for d, i in zip(args.definition, args.image_spec)
        ]
    from pun.api import generate_with_base
    from pun.oci.resolve import resolve_image_config

    archives = dict(_image_archives(args.image_archive))

    def resolve(image: BaseSpec) -> Dict[str, Any]:
        # BuildKit reads the base's config before converting; only plans that need it ask.
        return resolve_image_config(
            image, args.cache_dir, args.insecure_registry, archives, args.progress
        )

    # Named as the user wrote it, or as `pun --LLB` does: `Containerfile`, not `./Containerfile`.
    path = args.file or os.path.normpath(os.path.join(args.context, "Containerfile"))
    text = read_containerfile(path)
    targets = platforms(args.platform, "--platform")
    first = argparse.Namespace(**{**vars(args), "platform": str(targets[0])})
    base = generate_options(first, path)
    plans = []
    said: Set[Diagnostic] = set()  # the platforms mostly share their warnings: each is said once
    for target in targets:
        generated = generate_with_base(text, base._replace(target_platform=target), resolve)
        write_diagnostics([w for w in generated.warnings if w not in said])
        said.update(generated.warnings)
        planned = PlannedImage(
            generated.image,
            path,
            generated.source_map,
            generated.plan.rootfs,
            tuple(base.context_excludes),
        )
        plans.append((generated.definition, planned))
    return plans


def _read(path: str, flag: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise error(
            f"{flag} {path}: {exc.strerror}", hint=f"check the path given to {flag}"
        ) from None
