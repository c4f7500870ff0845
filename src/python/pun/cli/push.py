"""`pun push`: push an image archive that is already built (no second build).

    pun push redis.oci.tar 127.0.0.1:5000/unikernels/redis:1.0 127.0.0.1:5000/unikernels/redis:x

For each repository: every blob the registry lacks, then the manifest by digest, then each tag
(pun.oci.push); a multi-platform archive (an image index) goes up children first, then the
index by digest, then each tag (pun.oci.image_index). stdout gets one `REPOSITORY@DIGEST`
line per repository pushed to; diagnostics and progress go to stderr. Exit status: 0 pushed,
1 failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from typing import List, Optional, Sequence

from pun.cli.options import add_insecure_registry_argument, add_progress_argument, run_command

EXIT_OK = 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pun push",
        description="Push an OCI image archive (pun build -o type=oci or type=docker) to "
        "registries: blobs first, then the manifest by digest, then each tag.",
        allow_abbrev=False,
    )
    parser.add_argument("archive", metavar="ARCHIVE", help="the image archive (a tar)")
    parser.add_argument(
        "names", nargs="+", metavar="NAME", help="REGISTRY/REPOSITORY[:TAG] to push to"
    )
    add_insecure_registry_argument(parser, "push")
    add_progress_argument(parser)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)

    def push() -> int:
        pushed = push_archive(args.archive, args.names, args.insecure_registry, args.progress)
        sys.stdout.write("".join(f"{ref}\n" for ref in pushed))
        return EXIT_OK

    return run_command("pun push", push)


def push_archive(
    archive: str, names: Sequence[str], insecure: bool = False, progress: str = "auto"
) -> List[str]:
    from pun.oci.image import BuiltImage
    from pun.oci.image_index import push_index
    from pun.oci.layout import read_any
    from pun.oci.push import parse_names, push
    from pun.progress import Progress

    parse_names(names, what="cannot push to ")  # before reading a possibly large archive
    with tempfile.TemporaryDirectory(prefix="pun-push-") as scratch:
        image = read_any(archive, scratch)
        if not isinstance(image, BuiltImage):  # multi-platform: children first, then the index
            return push_index(image, scratch, names, Progress(progress), insecure=insecure)
        config_path = os.path.join(scratch, "config")
        with open(config_path, "wb") as handle:
            handle.write(image.config)
        return push(image, config_path, names, Progress(progress), insecure=insecure)
