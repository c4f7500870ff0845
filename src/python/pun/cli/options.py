"""What `pun --LLB` and `pun build` share on the command line: the options that shape the LLB,
and reading the Containerfile, so both commands read input the same way."""

from __future__ import annotations

import os
import sys

from pun.diagnostics import PunError, error, write_diagnostics
from pun.keyvalue import parse_pairs, require_utf8

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    import argparse
    from typing import Any, Callable, Dict, Optional, Tuple

    from pun.api import GenerateOptions
    from pun.platform import Platform


EXIT_FAILURE, EXIT_INTERRUPTED = 1, 130


def run_command(name: str, work: Callable[[], int], on_interrupt: str = "") -> int:
    """Run a subcommand's work: a PunError becomes its diagnostics on stderr and exit 1, Ctrl-C a
    one-line note and exit 130 (the shell's convention), never a traceback."""
    try:
        return work()
    except PunError as exc:
        write_diagnostics(exc.diagnostics)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        sys.stderr.write(f"{name}: interrupted{'; ' + on_interrupt if on_interrupt else ''}\n")
        return EXIT_INTERRUPTED


def add_generate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--build-arg",
        dest="build_args",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a build-time ARG (repeatable; KEY alone takes the value from the environment)",
    )
    parser.add_argument(
        "--platform",
        metavar="OS/ARCH[/VARIANT]",
        help="target platform (default linux/amd64; `pun build` takes a comma list for a "
        "multi-platform index); its arch is used for unikraft.org images",
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
    parser.add_argument(
        "--compat",
        choices=("docker", "pun"),
        default="docker",
        help="COPY semantics: `docker` (default) as `docker build`; `pun` the original pun's "
        "LLB byte for byte (directories nest, source symlinks stay links, no .dockerignore)",
    )


def generate_options(args: Any, path: str) -> "GenerateOptions":
    """GenerateOptions from the arguments added by add_generate_arguments (PunError if bad):
    an argparse Namespace, or what `pun --LLB`'s own scan returns (the same attributes)."""
    from pun.api import GenerateOptions

    if args.local_unique_id is not None:
        require_utf8("--local-unique-id", args.local_unique_id)
    return GenerateOptions(
        path=path,
        build_args=parse_pairs(args.build_args, "--build-arg", os.environ),
        target_platform=platform(args.platform, "--platform"),
        base_platform=platform(args.base_platform, "--base-platform")
        if args.base_platform
        else None,
        local_unique_id=args.local_unique_id,
        strict=args.strict,
        compat=args.compat,
        context_excludes=context_excludes(args.context, path, args.compat),
        platform_given=args.platform is not None,
    )


def read_base_config(path: str) -> Dict[str, Any]:
    """`--base-config FILE`: an image config JSON object (its `config` member holds Env,
    WorkingDir, User), as `pun base-config` and `skopeo inspect --config` write it."""
    import json

    try:
        with open(path, "rb") as handle:
            value = json.loads(handle.read().decode("utf-8"))
    except OSError as exc:
        raise error(f"--base-config {path}: {exc.strerror}", hint="check the path") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise error(
            f"--base-config {path} is not JSON: {exc}",
            hint="write it with `pun base-config REF > FILE`",
        ) from None
    hint = "write it with `pun base-config REF > FILE`"
    # What BaseConfig.from_image_config reads, typed as an image config has it (a null
    # `config` or field is an image without one).
    config = value.get("config") if isinstance(value, dict) else None
    if not isinstance(value, dict) or not isinstance(config or {}, dict):
        raise error(f"--base-config {path} is not an image config (no `config` object)", hint=hint)
    for key in ("Env", "Entrypoint"):
        items = (config or {}).get(key)
        if items is not None and not (
            isinstance(items, list) and all(isinstance(i, str) for i in items)
        ):
            raise error(f"--base-config {path}: config.{key} is not a list of strings", hint=hint)
    for key in ("WorkingDir", "User"):
        text = (config or {}).get(key)
        if text is not None and not isinstance(text, str):
            raise error(f"--base-config {path}: config.{key} is not a string", hint=hint)
    return value


def context_excludes(context_dir: str, containerfile: str, compat: str) -> Tuple[str, ...]:
    """The ignore file's patterns for the context (docker semantics), as `docker build` reads
    them: `<Containerfile>.dockerignore` beside it, else the context's `.dockerignore`."""
    if compat == "pun":
        return ()
    from pun.ignorefiles import ignore_file_candidates

    # Most contexts have none: only then pay for importing the pattern matcher.
    if not any(os.path.lexists(c) for c in ignore_file_candidates(context_dir, containerfile)):
        return ()
    from pun.dockerignore import find_ignore_file

    found = find_ignore_file(context_dir, containerfile)
    return found.patterns if found is not None else ()


def read_containerfile(path: str) -> str:
    """The Containerfile's text ('-' is stdin); PunError naming the file when unreadable."""
    try:
        if path == "-":
            raw = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as handle:
                raw = handle.read()
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


def platform(text: Optional[str], flag: str) -> "Platform":
    from pun.platform import DEFAULT_TARGET, InvalidPlatform, parse_platform

    if text is None:
        return DEFAULT_TARGET
    if "," in text and flag == "--platform":
        raise error(
            f"{flag} {text}: one LLB definition has one platform",
            hint="give one platform here; `pun build --platform "
            f"{text}` builds a multi-platform image index",
        )
    try:
        return parse_platform(text)
    except InvalidPlatform as exc:
        raise error(f"{flag}: {exc}", hint="use e.g. linux/amd64 or linux/arm64") from None


def platforms(text: Optional[str], flag: str) -> "Tuple[Platform, ...]":
    """`--platform` for `pun build`: one platform or docker buildx's comma list."""
    from pun.platform import DEFAULT_TARGET, InvalidPlatform, parse_platforms

    if text is None:
        return (DEFAULT_TARGET,)
    try:
        return parse_platforms(text)
    except InvalidPlatform as exc:
        raise error(
            f"{flag}: {exc}", hint="use e.g. linux/amd64 or linux/amd64,linux/arm64"
        ) from None


def source_date_epoch(flag: "Optional[int]") -> int:
    """--source-date-epoch, else $SOURCE_DATE_EPOCH, else 0 (PunError when it is no number)."""
    if flag is not None:
        return flag
    from pun.epoch import SOURCE_DATE_EPOCH, parse_epoch

    return parse_epoch(
        os.environ.get(SOURCE_DATE_EPOCH, ""),
        SOURCE_DATE_EPOCH,
        "unset it or set it to e.g. $(git log -1 --format=%ct)",
    )


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """`-f/--file` and `--context`, as `docker build` reads them."""
    parser.add_argument(
        "-f", "--file", metavar="FILE", help="the Containerfile (default: CONTEXT/Containerfile)"
    )
    parser.add_argument(
        "--context",
        default=".",
        metavar="DIR",
        help="the build context: the directory COPY reads from (default: .)",
    )


def add_progress_argument(parser: argparse.ArgumentParser) -> None:
    from pun.progress import MODES

    parser.add_argument(
        "--progress",
        choices=MODES,
        default="auto",
        help="progress on stderr: auto (only on a TTY), plain, quiet",
    )


def add_insecure_registry_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """`--insecure-registry`; `what` says what goes over HTTP ("pull the base image")."""
    parser.add_argument(
        "--insecure-registry",
        action="store_true",
        help=f"{what} over plain HTTP (loopback registries always are)",
    )


def add_cache_dir_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """`--cache-dir`, pun's one blob cache; `what` says what it holds ("base images")."""
    parser.add_argument(
        "--cache-dir", metavar="DIR", help=f"blob cache for {what} (default: $XDG_CACHE_HOME/pun)"
    )


def add_image_archive_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """`--image-archive REF=FILE` (repeatable), read by pun.oci.archive_images; `what` says
    which images it can stand in for ("a FROM or COPY --from image")."""
    parser.add_argument(
        "--image-archive",
        action="append",
        default=[],
        metavar="REF=FILE",
        help=f"take image REF ({what}) from the OCI archive FILE instead of its registry "
        "(repeatable)",
    )
