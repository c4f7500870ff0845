"""`pun rootfs`: make a Containerfile's rootfs artifact into a directory, for `pun --LLB`.

    pun rootfs -f Containerfile -o rootfs-dir
    pun --LLB -f Containerfile | buildctl build --local context=. \\
        --local pun-rootfs=rootfs-dir --output type=oci,dest=image.tar

`pun build` does this itself; this command is for the LLB path, where buildctl needs the
artifact as the `pun-rootfs` local source. The directory gets one file, `rootfs` (nothing else
in it is touched); stdout carries nothing. Exit status: 0 success, 1 failure, 2 usage.
"""

from __future__ import annotations

import argparse
import os
from typing import Optional, Sequence

from pun.cli.options import (
    add_cache_dir_argument,
    add_generate_arguments,
    add_insecure_registry_argument,
    add_source_arguments,
    generate_options,
    read_containerfile,
    run_command,
    source_date_epoch,
)
from pun.diagnostics import error, write_diagnostics

EXIT_OK = 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pun rootfs",
        description="Make the rootfs artifact (initrd or block image) a Containerfile's "
        "pun.rootfs label asks for, into DIR/rootfs, for `buildctl build --local pun-rootfs=DIR`.",
        allow_abbrev=False,
    )
    add_source_arguments(parser)
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="DIR",
        help="the directory to write `rootfs` into (created if missing)",
    )
    parser.add_argument(
        "--source-date-epoch",
        type=int,
        metavar="SECONDS",
        help="timestamp of every entry (default: $SOURCE_DATE_EPOCH, else 0)",
    )
    add_cache_dir_argument(parser, "images the rootfs reads files from")
    add_insecure_registry_argument(parser, "pull those images")
    add_generate_arguments(parser)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    return run_command("pun rootfs", lambda: _make(args), "no output was written")


def _make(args: argparse.Namespace) -> int:
    from pun.api import generate
    from pun.rootfs.make import make_artifact

    path = args.file or os.path.normpath(os.path.join(args.context, "Containerfile"))
    options = generate_options(args, path)
    generated = generate(read_containerfile(path), options)
    write_diagnostics(generated.warnings)
    request = generated.plan.rootfs
    if request is None:
        raise error(
            "this Containerfile asks for no rootfs artifact",
            path,
            None,
            'add e.g. LABEL pun.rootfs="type=initrd,src=/rootfs,path=/boot/initrd" '
            "(see the README)",
        )
    os.makedirs(args.output, exist_ok=True)
    make_artifact(
        request,
        args.context,
        args.output,
        source_date_epoch(args.source_date_epoch),
        options.context_excludes,
        path,
        options.target_platform,
        args.cache_dir,
        args.insecure_registry,
    )
    return EXIT_OK
