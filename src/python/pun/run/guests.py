"""The guest's command line (what urunc passes as `-append` / the tender's argument), per guest
type, as urunc-dev/urunc builds it in `pkg/unikontainers/unikernels/<guest>.go`
(`Init` + `CommandString`). `pun run` boots without a network or block devices, so only the
parts urunc emits in that case are modelled here.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from typing import Sequence, Tuple

from pun.diagnostics import error
from pun.gostrings import GO_SPACE

LINUX, RUMPRUN, MIRAGE, UNIKRAFT = "linux", "rumprun", "mirage", "unikraft"
INITRD_ROOTFS = "initrd"


@dataclass(frozen=True)
class GuestParams:
    """urunc's `UnikernelParams`: the container's process args and env, the monitor, the rootfs."""

    args: Tuple[str, ...]
    env: Tuple[str, ...]
    monitor: str
    rootfs_type: str = ""  # "initrd" or "" (no rootfs)


def linux_command(params: GuestParams, where: str = "", machine: str = "") -> str:
    """`unikernels/linux.go`: `parseCmdLine` (no args is an error; every argument is trimmed of
    white space, and one with a space inside is wrapped in '...', for urunit), then
    `CommandString`: `panic=-1`, the console, the root parameters, the environment (unless the
    init is urunit), `[rd]init=ARGS0 -- ARGS1..`.

    The console is ttyS0 with the monitor's UART on stdio (ttyAMA0 for qemu on an arm64 host,
    `machine`, default this one's). (urunc's newest main switched qemu guests to `console=hvc0
    8250.nr_uarts=0` on a virtio console; Debian's kernel builds CONFIG_VIRTIO_CONSOLE as a
    module, so such a guest would print nothing.)
    """
    if not params.args:
        raise error(
            "urunc would refuse this Linux guest: no init was specified "
            "(the image config has no Entrypoint/Cmd and no com.urunc.unikernel.cmdline)",
            where,
            hint='add e.g. CMD ["/init"] to the Containerfile',
        )
    trimmed = [a.strip(GO_SPACE) for a in params.args]
    args = [f"'{a}'" if " " in a else a for a in trimmed]
    app, rest = args[0], " ".join(args[1:])
    arm64 = (machine or platform.machine()) in ("aarch64", "arm64")
    console = "console=ttyAMA0" if arm64 and params.monitor == "qemu" else "console=ttyS0"
    parts = ["panic=-1", console]
    rdinit = ""
    if params.rootfs_type == INITRD_ROOTFS:
        parts.append("root=/dev/ram0 rw")
        rdinit = "rd"
    if "urunit" not in app:  # urunit reads the environment from a config file instead
        parts.extend(params.env)
    parts.append(f"{rdinit}init={app} -- {rest}")
    return " ".join(parts)


def rumprun_command(params: GuestParams) -> str:
    """`unikernels/rumprun.go`: rumprun's JSON-like config, `{"cmdline":"...","env":"...",...}`,
    with Go's encoding minus HTML escaping (rumprun does not decode `\\u0026`)."""
    text = '{"cmdline":' + _go_string(" ".join(params.args))
    for variable in params.env:
        text += ',"env":' + _go_string(variable)
    return text + "}"


def mirage_command(params: GuestParams) -> str:
    """`unikernels/mirage.go`: "<ipv4 flag> <gateway flag> <args>"; without a network both are
    empty, so the line starts with two spaces, as urunc writes it."""
    return f"  {' '.join(params.args)}"


def unikraft_command(params: GuestParams) -> str:
    """`unikernels/unikraft.go`, the current arguments (unikernelVersion unset or >= 0.16.1;
    older Unikraft gets urunc's compat form, not modelled here); without a network
    urunc still writes `netdev.ip=/24::8.8.8.8` (empty address, /24 fallback)."""
    env = "env.vars=[ " + " ".join(params.env) + " ]" if params.env else ""
    vfs = 'vfs.fstab=[ "initrd0:/:extract:::" ]' if params.rootfs_type == INITRD_ROOTFS else ""
    fields = ("Unikraft", "", env, "netdev.ip=/24::8.8.8.8", "", "", vfs)
    return " ".join(fields) + " -- " + " ".join(params.args)


def require_current_unikraft(version: str, where: str) -> None:
    """Refuse what `unikraft_command` does not model: a unikernelVersion below 0.16.1
    (`UnikraftCompatVersion`), for which urunc writes the old netdev/vfs arguments."""
    parts = version.lstrip("v").split(".")
    if version and all(p.isdigit() for p in parts) and tuple(map(int, parts)) < (0, 16, 1):
        raise error(
            f"pun run boots Unikraft >= 0.16.1 only; this image says unikernelVersion={version}",
            where,
            hint="boot it with urunc, or rebuild it with a current Unikraft",
        )


def _go_string(value: str) -> str:
    """encoding/json with SetEscapeHTML(false): like json.dumps, but U+2028/9 escaped and
    non-ASCII kept as UTF-8."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def command_line(guest: str, params: GuestParams, where: str = "") -> str:
    if guest == LINUX:
        return linux_command(params, where)
    if guest == RUMPRUN:
        return rumprun_command(params)
    if guest == MIRAGE:
        return mirage_command(params)
    if guest == UNIKRAFT:
        return unikraft_command(params)
    raise error(
        f"pun run cannot boot {guest} guests yet (linux, rumprun, mirage and unikraft it can)",
        where,
        hint="run the image with urunc itself",
    )


def guest_args(entrypoint: Sequence[str], cmd: Sequence[str], cmdline: str) -> Tuple[str, ...]:
    """The container's process args: Entrypoint + Cmd (what containerd puts into the spec);
    urunc 0.5/0.6 fall back to the cmdline annotation split on white space
    (`pkg/unikontainers/unikontainers.go` in 0.5: `strings.Fields`)."""
    args = (*entrypoint, *cmd)
    return args if args else tuple(cmdline.split())
