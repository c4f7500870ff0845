"""`pun base-config`: the config fields of a base image that change what a Containerfile
means (Env, WorkingDir, User, and the Entrypoint the urunc bridge needs), as one line of JSON
on stdout.

    pun base-config --platform linux/amd64 registry.example.com/base/image:1

What BuildKit's Dockerfile frontend resolves before it converts (its MetaResolver). The Pants
plugin runs it as a cached process, only for a plan that needs it (pun.api.BasePlanner),
and plans again with the answer (`pun.imagespec.BaseConfig.from_image_config` reads it back);
`pun build` resolves the same way in-process (pun.oci.resolve). Exit status: 0 resolved,
1 failed (a diagnostic on stderr), 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from pun.cli.options import (
    add_cache_dir_argument,
    add_image_archive_argument,
    add_insecure_registry_argument,
    add_progress_argument,
    platforms,
    run_command,
)

EXIT_OK = 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pun base-config",
        description="Print a base image's Env, WorkingDir, User and Entrypoint (JSON) for one "
        "platform.",
        allow_abbrev=False,
    )
    parser.add_argument("reference", metavar="REFERENCE", help="the image, as FROM names it")
    parser.add_argument(
        "--platform",
        default=None,
        metavar="OS/ARCH[/VARIANT]",
        help="the platform the build pulls the image for (default: linux/amd64)",
    )
    add_image_archive_argument(parser, "the base image, e.g. another unikernel_image's")
    add_cache_dir_argument(parser, "image manifests and configs")
    add_insecure_registry_argument(parser, "pull the image's manifest and config")
    add_progress_argument(parser)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)

    def resolve() -> int:
        from pun.diagnostics import error
        from pun.gojson import go_json_dumps
        from pun.imagespec import BaseConfig, BaseSpec
        from pun.oci.archive_images import parse_image_archives
        from pun.oci.resolve import resolve_image_config
        from pun.reference import InvalidReference, normalize

        given = platforms(args.platform, "--platform")  # None: DEFAULT_TARGET
        if len(given) != 1:
            raise error(
                f"--platform takes one platform, not {args.platform}",
                hint="run pun base-config once per platform",
            )
        (platform,) = given
        try:
            reference = str(normalize(args.reference))
        except InvalidReference as exc:
            raise error(f"{args.reference!r}: {exc}", hint="name an image, as FROM does") from None
        config = resolve_image_config(
            BaseSpec(reference, platform),
            args.cache_dir,
            args.insecure_registry,
            parse_image_archives(args.image_archive),
            args.progress,
        )
        data = BaseConfig.from_image_config(config).to_json()
        sys.stdout.write(go_json_dumps(data) + "\n")
        return EXIT_OK

    return run_command("pun base-config", resolve)
