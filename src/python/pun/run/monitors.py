"""The monitor's command line, as urunc-dev/urunc builds it in
`pkg/unikontainers/hypervisors/<monitor>.go` (`BuildExecCmd`), for a guest with no network and
no block device, started without a seccomp profile (as `ctr run` does by default), with urunc's
defaults: 256 MB (`vmm.go`, `DefaultMemory`; MB = 10^6 bytes in `utils.go`) and 1 vCPU.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from typing import List, Tuple

from pun.diagnostics import error

QEMU, HVT, SPT, FIRECRACKER = "qemu", "hvt", "spt", "firecracker"
KVM, TCG = "kvm", "tcg"
DEFAULT_MEMORY_MB = 256
QEMU_FIRMWARE = "/usr/share/qemu"
# The guest-specific tail urunc appends for qemu (`MonitorCli` of the guest).
QEMU_GUEST_ARGS = {"linux": ("-no-reboot", "-nodefaults")}


@dataclass(frozen=True)
class MonitorArgs:
    """urunc's `ExecArgs`, the parts `pun run` sets."""

    kernel: str  # host path of the unikernel binary
    initrd: str  # host path, or ""
    command: str  # the guest's command line
    guest: str
    memory_mb: int = 0  # the container's memory limit in MB (10^6 bytes); 0: none
    vcpus: int = 1
    accel: str = KVM


def memory_mb(args: MonitorArgs) -> int:
    """qemu, hvt and spt: `BytesToStringMB` (utils.go): the limit in MB, urunc's default 256
    without one (or below 1 MB)."""
    return args.memory_mb or DEFAULT_MEMORY_MB


def memory_mib(args: MonitorArgs) -> int:
    """firecracker: `bytesToMiB` of the limit (firecracker.go), so 512 MB is 488 MiB; without a
    limit (or below 1 MiB) urunc's DefaultMemory, 256, taken as MiB."""
    return args.memory_mb * 1000 * 1000 // (1024 * 1024) or DEFAULT_MEMORY_MB


def binary_name(monitor: str) -> str:
    """What urunc looks up on PATH (`vmm.go`, `getVMMPath`): qemu-system-<host arch>."""
    if monitor == QEMU:
        machine = platform.machine()
        arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}
        return "qemu-system-" + arch.get(machine, machine)
    return {HVT: "solo5-hvt", SPT: "solo5-spt", FIRECRACKER: "firecracker"}.get(monitor, monitor)


def qemu_argv(binary: str, args: MonitorArgs) -> List[str]:
    """`hypervisors/qemu.go`: memory, firmware path, CPU + accelerator, no display, no monitor,
    the UART on stdio, vCPUs, the kernel, no NIC, the initrd, the guest's extra arguments,
    `-append`. For TCG, `-cpu host -enable-kvm` becomes `-cpu max -accel tcg` (the one change)."""
    cpu = ["-cpu", "host", "-enable-kvm"] if args.accel == KVM else ["-cpu", "max", "-accel", "tcg"]
    argv = [binary, "-m", f"{memory_mb(args)}M", "-L", QEMU_FIRMWARE, *cpu]
    argv += ["-display", "none", "-vga", "none", "-monitor", "null", "-serial", "stdio"]
    if args.vcpus > 0:
        argv += ["-smp", str(args.vcpus)]
    if platform.machine() in ("aarch64", "arm64"):
        argv += ["-M", "virt"]
    argv += ["-kernel", args.kernel, "-nic", "none"]
    if args.initrd:
        argv += ["-initrd", args.initrd]
    argv += list(QEMU_GUEST_ARGS.get(args.guest, ()))
    return argv + ["-append", args.command]


def solo5_argv(binary: str, args: MonitorArgs) -> List[str]:
    """`hypervisors/hvt.go` (and `spt.go`): `--mem=MB`, then `--`, the unikernel, its command."""
    argv = [binary, f"--mem={memory_mb(args)}", "--", args.kernel]
    return argv + [args.command] if args.command else argv


def firecracker_config(args: MonitorArgs) -> bytes:
    """`hypervisors/firecracker.go`: the JSON config file (`--no-api --config-file`)."""
    source = {"kernel_image_path": args.kernel, "boot_args": args.command}
    if args.initrd:
        source["initrd_path"] = args.initrd
    config = {
        "boot-source": source,
        "machine-config": {
            "vcpu_count": args.vcpus,
            "mem_size_mib": memory_mib(args),
            "smt": False,
            "track_dirty_pages": False,
        },
        "drives": [],
    }
    return json.dumps(config, separators=(",", ":")).encode("utf-8")


def firecracker_argv(binary: str, config_path: str) -> List[str]:
    # No seccomp profile in the spec -> urunc adds --no-seccomp.
    return [binary, "--no-api", "--config-file", config_path, "--no-seccomp"]


SUPPORTED: Tuple[str, ...] = (QEMU, HVT, SPT, FIRECRACKER)
# Monitors that run guests on KVM only (solo5-spt is a seccomp sandbox; QEMU can use TCG).
KVM_ONLY: Tuple[str, ...] = (HVT, FIRECRACKER)


def require_supported(monitor: str, where: str) -> None:
    if monitor not in SUPPORTED:
        raise error(
            f"pun run cannot start {monitor} yet (it starts qemu, solo5-hvt, solo5-spt and "
            "firecracker)",
            where,
            hint="run the image with urunc itself",
        )
