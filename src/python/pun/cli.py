"""`pun`: Containerfile -> BuildKit LLB on stdout (drop-in for the original Go tool).

stdout carries data only (LLB bytes, or JSON lines with --dump); every diagnostic goes to
stderr. Exit status: 0 success, 1 bad input or failure, 2 usage error or unavailable mode.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, BinaryIO, Dict, List, Optional, Sequence

from pun import __version__

if TYPE_CHECKING:
    from pun.platform import Platform

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pun",
        description="Package a unikernel for urunc: read a Containerfile (FROM/COPY/LABEL) and "
        "write a BuildKit LLB definition for `buildctl build`.",
        epilog="example: pun --LLB -f Containerfile | buildctl build --local context=. "
        "--output type=oci,dest=image.tar",
        allow_abbrev=False,
    )
    parser.add_argument(
        "--LLB",
        "-LLB",
        dest="llb",
        action="store_true",
        help="write the LLB definition to stdout (without it, pun is a BuildKit frontend)",
    )
    parser.add_argument(
        "-f",
        "--file",
        "-file",
        dest="file",
        metavar="FILE",
        help="the Containerfile to read ('-' for stdin)",
    )
    parser.add_argument(
        "--dump",
        action="store_true",
        help="write one JSON object per op instead of LLB bytes (like buildctl debug dump-llb)",
    )
    parser.add_argument(
        "--build-arg",
        dest="build_args",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a build-time ARG (repeatable)",
    )
    parser.add_argument(
        "--platform",
        metavar="OS/ARCH[/VARIANT]",
        help="target platform (default linux/amd64); its arch is used for unikraft.org images",
    )
    parser.add_argument(
        "--base-platform",
        metavar="OS/ARCH[/VARIANT]",
        help="force the base image's platform (the original pun used qemu/amd64 for all)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="treat urunc label problems as errors instead of warnings",
    )
    parser.add_argument(
        "--local-unique-id",
        metavar="ID",
        help="pin the local source's unique id (default: random per run, like BuildKit)",
    )
    parser.add_argument("-v", "--version", action="store_true", help="print the version and exit")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "build":
        from pun.solve.command import main as build_main

        return build_main(argv[1:])
    if argv and argv[0] == "push":
        from pun.solve.push_command import main as push_main

        return push_main(argv[1:])
    args = _parser().parse_args(argv)
    if args.version:
        sys.stdout.write(f"pun version {__version__}\n")
        return EXIT_OK
    if not (args.llb or args.dump):
        return _frontend()
    if not args.file:
        sys.stderr.write(
            "pun: no Containerfile given\n  hint: pass -f Containerfile (see pun --help)\n"
        )
        return EXIT_FAILURE
    return _write_llb(args, sys.stdout.buffer)


def _frontend() -> int:
    """Without --LLB, pun is a BuildKit gateway frontend, but only when BuildKit started it."""
    from pun.frontend.detect import started_by_buildkit

    if not started_by_buildkit(os.environ):
        sys.stderr.write(
            "pun: without --LLB, pun is a BuildKit frontend, and BuildKit did not start it "
            "(no BUILDKIT_* environment)\n"
            "  hint: write LLB with `pun --LLB -f Containerfile`, or put "
            "`#syntax=<pun frontend image>` on a Containerfile's first line and `docker build`\n"
        )
        return EXIT_USAGE
    from pun.frontend.main import run  # grpc is imported only here

    return run()


def _write_llb(args: argparse.Namespace, out: BinaryIO) -> int:
    from pun.api import GenerateOptions, generate
    from pun.diagnostics import PunError

    try:
        options = GenerateOptions(
            path=args.file,
            build_args=_build_args(args.build_args),
            target_platform=_platform(args.platform, "--platform"),
            base_platform=_platform(args.base_platform, "--base-platform")
            if args.base_platform
            else None,
            local_unique_id=args.local_unique_id,
            strict=args.strict,
        )
        generated = generate(_read(args.file), options)
    except PunError as exc:
        for diagnostic in exc.diagnostics:
            sys.stderr.write(diagnostic.render() + "\n")
        return EXIT_FAILURE
    for diagnostic in generated.warnings:
        sys.stderr.write(diagnostic.render() + "\n")
    if args.dump:
        from pun.llb.dump import dump_lines

        out.write("".join(line + "\n" for line in dump_lines(generated.definition)).encode("utf-8"))
    else:
        out.write(generated.definition)
    out.flush()
    return EXIT_OK


def _read(path: str) -> str:
    from pun.diagnostics import error

    try:
        raw = sys.stdin.buffer.read() if path == "-" else _read_file(path)
    except OSError as exc:
        raise error(
            f"cannot read the Containerfile: {exc.strerror or exc}",
            path,
            None,
            "check the path given with -f",
        ) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            f"not UTF-8 text (byte {exc.start})",
            path,
            raw.count(b"\n", 0, exc.start) + 1,
            "save the Containerfile as UTF-8",
        ) from None


def _read_file(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _build_args(pairs: List[str]) -> Dict[str, str]:
    from pun.diagnostics import error

    values: Dict[str, str] = {}
    for pair in pairs:
        key, has_value, value = pair.partition("=")
        if not key:
            raise error(f"invalid --build-arg {pair!r}", hint="use --build-arg KEY=VALUE")
        # Like docker: `--build-arg KEY` takes the value from the environment.
        if has_value:
            values[key] = value
        elif key in os.environ:
            values[key] = os.environ[key]
    return values


def _platform(text: Optional[str], flag: str) -> "Platform":
    from pun.diagnostics import error
    from pun.platform import DEFAULT_TARGET, InvalidPlatform, parse_platform

    if text is None:
        return DEFAULT_TARGET
    try:
        return parse_platform(text)
    except InvalidPlatform as exc:
        raise error(f"{flag}: {exc}", hint="use e.g. linux/amd64 or linux/arm64") from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
