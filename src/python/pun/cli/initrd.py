"""`pun initrd`: host files -> a deterministic newc cpio (optionally gzip) for a Linux guest.

stdout carries nothing unless `-o -`; diagnostics go to stderr. Exit status: 0 success,
1 failure, 2 usage. The output appears whole or not at all.
"""

from __future__ import annotations

import argparse
from typing import Optional, Sequence, Tuple

from pun.cli.options import run_command, source_date_epoch
from pun.diagnostics import error

EXIT_OK = 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pun initrd",
        description="Write an initrd: a newc cpio archive (what the Linux kernel unpacks as its "
        "initramfs) with sorted entries, owners 0:0, one fixed mtime and normalized modes, so "
        "the same inputs give the same bytes on every machine.",
        epilog="example: pun initrd -o initrd.cpio init:/init busybox:/bin/busybox "
        "--symlink /bin/sh=busybox --dir /proc --dir /sys",
        allow_abbrev=False,
    )
    parser.add_argument(
        "placements",
        nargs="*",
        metavar="SRC:DST",
        help="a host file or directory and its absolute path in the initrd; a directory alone "
        "puts its contents at /",
    )
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help="'-' for stdout")
    parser.add_argument("--gzip", action="store_true", help="gzip the archive (default: none)")
    parser.add_argument(
        "--symlink",
        action="append",
        default=[],
        metavar="PATH=TARGET",
        help="add a symlink, e.g. /bin/sh=busybox (repeatable)",
    )
    parser.add_argument(
        "--dir", action="append", default=[], metavar="PATH", help="add an empty directory"
    )
    parser.add_argument(
        "--device",
        action="append",
        default=[],
        metavar="PATH=c|b:MAJOR:MINOR",
        help="add a device node, e.g. /dev/console=c:5:1 (repeatable)",
    )
    parser.add_argument(
        "--owner", default="0:0", metavar="UID:GID", help="owner of every entry (default 0:0)"
    )
    parser.add_argument(
        "--source-date-epoch",
        type=int,
        metavar="SECONDS",
        help="mtime of every entry (default: $SOURCE_DATE_EPOCH, else 0)",
    )
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    return run_command("pun initrd", lambda: _write(args), "no output was written")


def _owner(text: str) -> Tuple[int, int]:
    uid, colon, gid = text.partition(":")
    if not (colon and uid.isdigit() and gid.isdigit()):
        raise error(f"invalid --owner {text!r}", hint="use numeric --owner UID:GID, e.g. 0:0")
    return int(uid), int(gid)


def _write(args: argparse.Namespace) -> int:
    from pun.initrd.build import write_initrd
    from pun.initrd.tree import collect, parse_placement

    if not (args.placements or args.symlink or args.dir or args.device):
        raise error("nothing to put in the initrd", hint="pass SRC:DST arguments (see --help)")
    entries = collect(
        [parse_placement(p) for p in args.placements],
        args.symlink,
        args.dir,
        args.device,
        _owner(args.owner),
    )
    write_initrd(entries, args.output, source_date_epoch(args.source_date_epoch), args.gzip)
    return EXIT_OK
