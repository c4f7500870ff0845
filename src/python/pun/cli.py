"""`pun`: Containerfile -> BuildKit LLB on stdout (drop-in for the original Go tool).

stdout carries data only (LLB bytes, or JSON lines with --dump); every diagnostic goes to
stderr. Exit status: 0 success, 1 bad input or failure, 2 usage error or unavailable mode.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import BinaryIO, Optional, Sequence

from pun import __version__
from pun.cli_options import add_generate_arguments, generate_options, read_containerfile

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Takes the width from $COLUMNS: argparse's default asks shutil for the terminal size,
    and importing shutil on every `pun --LLB` costs ~3 ms for help text it never prints."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=_columns() - 2)


def _columns() -> int:
    text = os.environ.get("COLUMNS", "")
    return int(text) if text.isdigit() and int(text) > 20 else 80


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pun",
        description="Package a unikernel for urunc: read a Containerfile (FROM/COPY/LABEL) and "
        "write a BuildKit LLB definition for `buildctl build`.",
        epilog="example: pun --LLB -f Containerfile | buildctl build --local context=. "
        "--output type=oci,dest=image.tar\n\n"
        "more commands:\n"
        "  pun build ...   build the image itself (no daemon needed); see pun build --help\n"
        "  pun push ...    push a built OCI/docker archive to a registry; see pun push --help",
        formatter_class=_HelpFormatter,
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
        "--context",
        metavar="DIR",
        default=".",
        help="the build context buildctl will be given (default: .): its .dockerignore "
        "(or a <Containerfile>.dockerignore beside the file) becomes the context's exclude "
        "patterns",
    )
    add_generate_arguments(parser)
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
    from pun.api import generate
    from pun.diagnostics import PunError, write_diagnostics

    try:
        generated = generate(read_containerfile(args.file), generate_options(args, args.file))
    except PunError as exc:
        write_diagnostics(exc.diagnostics)
        return EXIT_FAILURE
    write_diagnostics(generated.warnings)
    if args.dump:
        from pun.llb.dump import dump_lines

        out.write("".join(line + "\n" for line in dump_lines(generated.definition)).encode("utf-8"))
    else:
        out.write(generated.definition)
    out.flush()
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
