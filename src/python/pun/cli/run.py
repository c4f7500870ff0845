"""`pun run ARCHIVE`: boot an image archive on this host the way urunc would.

The guest's console is the monitor's stdout, which is pun's stdout; pun's own diagnostics go to
stderr. Exit status: the monitor's, 1 when the image cannot be booted (nothing was started),
2 usage, 124 when --timeout ended the guest.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from typing import TYPE_CHECKING, Callable, List, Optional, Sequence

from pun import urunc
from pun.cli.options import run_command
from pun.diagnostics import error, warning, write_diagnostics
from pun.keyvalue import parse_pairs

if TYPE_CHECKING:
    from pun.run.monitors import MonitorArgs

EXIT_TIMEOUT = 124
_INSTALL_HINTS = {
    "qemu": "install QEMU (Debian: apt-get install qemu-system-x86)",
    "hvt": "install Solo5's tender solo5-hvt (build it from the solo5 sources)",
    "spt": "install Solo5's tender solo5-spt (build it from the solo5 sources)",
    "firecracker": "install firecracker (a release binary from its project)",
}


def _parser() -> argparse.ArgumentParser:
    from pun.run.accel import AUTO, CHOICES

    parser = argparse.ArgumentParser(
        prog="pun run",
        description="Boot a unikernel image archive on this host as urunc would: read its urunc "
        "settings (manifest annotations and config labels, else /urunc.json), check them, and "
        "start the monitor with urunc's command line. The guest's console is on stdout.",
        allow_abbrev=False,
    )
    parser.add_argument(
        "archive", metavar="ARCHIVE", help="an OCI image archive (pun build -o type=oci)"
    )
    parser.add_argument(
        "--accel",
        choices=CHOICES,
        default=AUTO,
        help="qemu's accelerator: kvm, tcg, or auto (KVM only where it can boot the guest)",
    )
    parser.add_argument(
        "--timeout", type=float, default=0, metavar="SECONDS", help="stop the guest after this long"
    )
    parser.add_argument(
        "--memory",
        type=int,
        default=0,
        metavar="MB",
        help="the container's memory limit in MB, as urunc sizes the guest from it "
        "(default: none, so urunc's 256 MB)",
    )
    parser.add_argument("--cpus", type=int, default=1, metavar="N", help="vCPUs (1)")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="add to the image's Env (the guest's environment; repeatable)",
    )
    parser.add_argument(
        "--print-command",
        action="store_true",
        help="write the monitor's command line to stdout instead of starting it",
    )
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    return run_command("pun run", lambda: _run(args), "the guest was stopped")


def _run(args: argparse.Namespace) -> int:
    parse_pairs(args.env, "--env")  # checked here; the guest gets them in the order given
    if args.memory < 0 or args.cpus < 1:
        raise error(
            "--memory must be 0 or more (0: urunc's default) and --cpus 1 or more",
            hint="e.g. --memory 256 --cpus 1",
        )
    scratch = tempfile.mkdtemp(prefix="pun-run-")
    try:
        return _boot(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _boot(args: argparse.Namespace, scratch: str) -> int:
    from pun.run import guests, monitors
    from pun.run.accel import choose_accel
    from pun.run.settings import check, choose
    from pun.run.unpack import in_rootfs, unpack

    where = args.archive
    image = unpack(args.archive, scratch)
    settings = choose(image.annotations, image.config, image.rootfs, where)
    write_diagnostics(check(settings, where))
    monitor, guest = settings.monitor, settings.guest
    monitors.require_supported(monitor, where)
    rootfs_type = _rootfs_type(settings.get, where)
    if guest == guests.UNIKRAFT:
        guests.require_current_unikraft(settings.get(urunc.UNIKERNEL_VERSION), where)
    kernel = in_rootfs(image.rootfs, settings.get(urunc.BINARY), urunc.BINARY, where)
    initrd = ""
    if rootfs_type:
        initrd = in_rootfs(image.rootfs, settings.get(urunc.INITRD), urunc.INITRD, where)
    binary_name = monitors.binary_name(monitor)
    binary = shutil.which(binary_name)
    if binary is None and not args.print_command:
        raise error(
            f"{binary_name} (the {monitor} monitor) is not on PATH; urunc would fail the same "
            "way (vmm not found)",
            where,
            hint=_INSTALL_HINTS.get(monitor, f"install {binary_name}"),
        )
    binary = binary or binary_name
    accel = monitors.KVM
    if monitor != monitors.SPT:
        accel, note = choose_accel(args.accel, monitor in monitors.KVM_ONLY, binary_name)
        if note:
            write_diagnostics([warning(note, where)])
    params = guests.GuestParams(
        args=guests.guest_args(
            image.config.entrypoint, image.config.cmd, settings.get(urunc.CMDLINE)
        ),
        env=(*image.config.env, *args.env),
        monitor=monitor,
        rootfs_type=rootfs_type,
    )
    margs = monitors.MonitorArgs(
        kernel=kernel,
        initrd=initrd,
        command=guests.command_line(guest, params, where),
        guest=guest,
        memory_mb=args.memory,
        vcpus=args.cpus,
        accel=accel,
    )
    argv = _argv(monitor, binary, margs, scratch)
    if args.print_command:
        sys.stdout.write(shlex.join(argv) + "\n")
        return 0
    sys.stderr.write(
        f"pun run: {guest} on {monitor} ({accel}), settings from the {settings.source}\n"
        f"pun run: {shlex.join(argv)}\n"
    )
    return _start(argv, args.timeout)


def _rootfs_type(get: Callable[[str], str], where: str) -> str:
    """urunc's guest rootfs choice (`ChooseRootfs`): the initrd first; block images and the
    container rootfs (mountRootfs) need devices pun run does not set up."""
    if get(urunc.INITRD):
        return "initrd"
    if get(urunc.BLOCK) or get(urunc.MOUNT_ROOTFS).lower() in ("1", "t", "true"):
        raise error(
            "pun run boots guests with an initrd or no root filesystem; this image asks for a "
            "block device (com.urunc.unikernel.block or mountRootfs)",
            where,
            hint="boot it with urunc, or give the guest its files in an initrd",
        )
    return ""


def _argv(monitor: str, binary: str, margs: "MonitorArgs", scratch: str) -> List[str]:
    from pun.run import monitors

    if monitor == monitors.QEMU:
        return monitors.qemu_argv(binary, margs)
    if monitor == monitors.FIRECRACKER:
        config = os.path.join(scratch, "fc.json")
        with open(config, "wb") as handle:
            handle.write(monitors.firecracker_config(margs))
        return monitors.firecracker_argv(binary, config)
    return monitors.solo5_argv(binary, margs)


def _start(argv: List[str], timeout: float) -> int:
    sys.stdout.flush()
    process = subprocess.Popen(argv)
    try:
        return process.wait(timeout=timeout or None)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        write_diagnostics(
            [warning(f"the guest ran longer than --timeout {timeout:g} s and was stopped")]
        )
        return EXIT_TIMEOUT
    except KeyboardInterrupt:
        process.kill()
        process.wait()
        raise
