"""`pun`: Containerfile -> BuildKit LLB on stdout (drop-in for the original Go tool).

stdout carries data only (LLB bytes, or JSON lines with --dump); every diagnostic goes to
stderr. Exit status: 0 success, 1 bad input or failure, 2 usage error or unavailable mode.
"""

from __future__ import annotations

import os
import sys

from pun import __version__
from pun.cli.options import generate_options, read_containerfile

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    import argparse
    from typing import BinaryIO, Dict, List, Optional, Sequence, Union

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

# The `pun --LLB` hot path reads its few options itself (_scan_llb_args) and imports argparse
# (~3 ms with gettext and locale) only for help, errors and the other modes.
_FLAGS = {"--LLB": "llb", "-LLB": "llb", "--dump": "dump", "--strict": "strict"}
_VALUED = {
    "-f": "file",
    "--file": "file",
    "-file": "file",
    "--build-arg": "build_args",
    "--platform": "platform",
    "--base-platform": "base_platform",
    "--local-unique-id": "local_unique_id",
    "--compat": "compat",
    "--context": "context",
    "--base-config": "base_config",
}
_COMPAT_CHOICES = ("docker", "pun")


class _Args:
    """What argparse would return for a `pun --LLB` command line (the same attribute names)."""

    def __init__(self) -> None:
        self.llb = self.dump = self.strict = self.version = False
        self.file: Optional[str] = None
        self.build_args: List[str] = []
        self.platform: Optional[str] = None
        self.base_platform: Optional[str] = None
        self.local_unique_id: Optional[str] = None
        self.compat = "docker"
        self.context = "."
        self.base_config: Optional[str] = None


def _scan_llb_args(argv: Sequence[str]) -> Optional[_Args]:
    """The arguments of a plain `pun --LLB -f FILE ...`, read as argparse reads them; None for
    anything else (help, version, errors, a value that looks like an option, the frontend),
    which goes to argparse."""
    args = _Args()
    values: Dict[str, Union[bool, str, List[str], None]] = vars(args)
    i = 0
    while i < len(argv):
        word = argv[i]
        name, has_value, value = word.partition("=") if word.startswith("--") else (word, "", "")
        if name in _FLAGS and not has_value:
            values[_FLAGS[name]] = True
        elif name in _VALUED:
            if not has_value:
                i += 1
                if i == len(argv) or (argv[i].startswith("-") and argv[i] != "-"):
                    return None
                value = argv[i]
            if name == "--build-arg":
                args.build_args.append(value)
            else:
                values[_VALUED[name]] = value
        else:
            return None
        i += 1
    if args.compat not in _COMPAT_CHOICES:
        return None  # argparse says which values are allowed
    return args if (args.llb or args.dump) and args.file else None


def _columns() -> int:
    text = os.environ.get("COLUMNS", "")
    return int(text) if text.isdigit() and int(text) > 20 else 80


def _parser() -> argparse.ArgumentParser:
    import argparse

    from pun.cli.options import add_generate_arguments

    class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
        """Takes the width from $COLUMNS: argparse's default asks shutil for the terminal
        size, and importing shutil costs ~3 ms for help text pun rarely prints."""

        def __init__(self, prog: str) -> None:
            super().__init__(prog, width=_columns() - 2)

    parser = argparse.ArgumentParser(
        prog="pun",
        description="Package a unikernel for urunc: read a Containerfile (FROM/COPY/LABEL) and "
        "write a BuildKit LLB definition for `buildctl build`.",
        epilog="example: pun --LLB -f Containerfile | buildctl build --local context=. "
        "--output type=oci,dest=image.tar\n\n"
        "more commands:\n"
        "  pun build ...   build the image itself (no daemon needed); see pun build --help\n"
        "  pun push ...    push a built OCI/docker archive to a registry; see pun push --help\n"
        "  pun initrd ...  write a deterministic initrd (newc cpio); see pun initrd --help\n"
        "  pun rootfs ...  make a Containerfile's rootfs artifact; see pun rootfs --help\n"
        "  pun run ...     boot an image archive the way urunc would; see pun run --help\n"
        "  pun base-config ...  a base image's Env, WorkingDir, User and Entrypoint as JSON "
        "(what a plan reads)",
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
    parser.add_argument(
        "--base-config",
        metavar="FILE",
        help="the FROM image's config (JSON, as `pun base-config` or `skopeo inspect --config` "
        "print it): $VAR, relative paths and WORKDIR's owner then read it, as docker build does, "
        "and the cmdline derived from a CMD starts with its Entrypoint (ignored with --compat pun)",
    )
    parser.add_argument("-v", "--version", action="store_true", help="print the version and exit")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "build":
        from pun.cli.build import main as build_main

        return build_main(argv[1:])
    if argv and argv[0] == "push":
        from pun.cli.push import main as push_main

        return push_main(argv[1:])
    if argv and argv[0] == "initrd":
        from pun.cli.initrd import main as initrd_main

        return initrd_main(argv[1:])
    if argv and argv[0] == "rootfs":
        from pun.cli.rootfs import main as rootfs_main

        return rootfs_main(argv[1:])
    if argv and argv[0] == "base-config":
        from pun.cli.base_config import main as base_config_main

        return base_config_main(argv[1:])
    if argv and argv[0] == "run":
        from pun.cli.run import main as run_main

        return run_main(argv[1:])
    fast = _scan_llb_args(argv)
    if fast is not None and fast.file:
        return _write_llb(fast, fast.file, sys.stdout.buffer)
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
    return _write_llb(args, args.file, sys.stdout.buffer)


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


def _write_llb(args: Union[argparse.Namespace, _Args], path: str, out: BinaryIO) -> int:
    from pun.diagnostics import PunError, write_diagnostics

    try:
        text, options = read_containerfile(path), generate_options(args, path)
        if args.base_config:
            from pun.api import generate_with_base
            from pun.cli.options import read_base_config

            config = read_base_config(args.base_config)
            generated = generate_with_base(text, options, lambda base: config)
        else:
            from pun.api import generate

            generated = generate(text, options)
    except PunError as exc:
        write_diagnostics(exc.diagnostics)
        from pun.containerfile.plan import BaseUnknownError

        if isinstance(exc, BaseUnknownError) and not args.base_config:
            sys.stderr.write(
                f"{path}:{exc.base.line}: note: this plan was made without the FROM image's "
                "config, which docker build reads (its Env, WorkingDir, User)\n"
                "  hint: pass `--base-config FILE` (`pun base-config REF > FILE`), or build "
                "with `pun build`, which resolves it\n"
            )
        return EXIT_FAILURE
    write_diagnostics(generated.warnings)
    if generated.plan.rootfs is not None:
        sys.stderr.write(
            f"{path}:{generated.plan.rootfs.line}: note: this LLB copies the rootfs artifact "
            "from the local source pun-rootfs\n"
            f"  hint: make it with `pun rootfs -f {path} -o DIR`, then give buildctl "
            "`--local pun-rootfs=DIR` next to `--local context=...`\n"
        )
    if args.dump:
        from pun.llb.dump import dump_lines

        out.write("".join(line + "\n" for line in dump_lines(generated.definition)).encode("utf-8"))
    else:
        out.write(generated.definition)
    out.flush()
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
