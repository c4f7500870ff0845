"""Which accelerator QEMU should use here: KVM only where it can boot the guest.

A PVM host (the `kvm_pvm` module: a page-table based hypervisor without VMX/SVM) answers on
/dev/kvm, but a stock Linux kernel stalls under it right after real-mode setup (measured on
this project's machines), so `auto` takes TCG there.
"""

from __future__ import annotations

import os
from typing import Callable, Tuple

from pun.diagnostics import error
from pun.run.monitors import KVM, TCG

AUTO = "auto"
CHOICES = (AUTO, KVM, TCG)
KVM_DEVICE = "/dev/kvm"
PVM_MODULE = "/sys/module/kvm_pvm"


def kvm_problem(device: str = KVM_DEVICE, pvm_module: str = PVM_MODULE) -> Tuple[str, bool]:
    """Why KVM cannot boot a guest here ("" when it can), and whether KVM is there at all."""
    if not os.path.exists(device):
        return f"{device} does not exist (no KVM on this host)", False
    if not os.access(device, os.R_OK | os.W_OK):
        return f"{device} is not readable and writable by this user", False
    if os.path.isdir(pvm_module):
        return f"{device} is PVM ({pvm_module} is loaded), where a stock Linux kernel stalls", True
    return "", True


def choose_accel(
    requested: str,
    needs_kvm: bool,
    monitor_binary: str,
    probe: Callable[[], Tuple[str, bool]] = kvm_problem,
) -> Tuple[str, str]:
    """The accelerator, and a warning to show ("" for none). `probe` is `kvm_problem` (tests
    give it other paths)."""
    problem, usable = probe()
    if requested == TCG:
        if needs_kvm:
            raise error(
                f"{monitor_binary} runs guests on KVM only; --accel tcg is for qemu",
                hint="use --accel auto or kvm",
            )
        return TCG, ""
    if requested == KVM or needs_kvm:
        if not usable:
            hint = "use --accel tcg" if not needs_kvm else "run on a host with KVM"
            raise error(f"cannot use KVM: {problem}", hint=hint)
        return KVM, (f"KVM may not boot the guest: {problem}" if problem else "")
    return (TCG, f"using TCG: {problem}") if problem else (KVM, "")
