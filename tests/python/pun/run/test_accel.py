"""`--accel kvm|tcg|auto`: KVM only where it can boot a stock Linux guest.

The facts: QEMU's TCG needs nothing from the host; KVM needs a /dev/kvm this user can open; a
PVM host (the `kvm_pvm` module, /sys/module/kvm_pvm) answers on /dev/kvm but a stock Linux
kernel stalls under it (measured on this project's machines), so `auto` takes TCG there. The
paths are the test's own files, so every case runs on any host.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Tuple

import pytest

from pun.diagnostics import PunError
from pun.run.accel import choose_accel, kvm_problem


def host(tmp_path: Path, device: bool = True, pvm: bool = False) -> Tuple[str, str]:
    dev, module = tmp_path / "kvm", tmp_path / "kvm_pvm"
    if device:
        dev.write_bytes(b"")
        dev.chmod(0o600)  # owner read/write: this user can open it
    if pvm:
        module.mkdir()
    return str(dev), str(module)


def test_no_device_is_no_kvm(tmp_path: Path) -> None:
    problem, usable = kvm_problem(*host(tmp_path, device=False))
    assert not usable and "does not exist" in problem and str(tmp_path / "kvm") in problem


def test_an_unopenable_device_is_no_kvm(tmp_path: Path) -> None:
    if os.geteuid() == 0:  # root opens any file: the mode cannot say no
        device, module = host(tmp_path)
        assert kvm_problem(device, module) == ("", True)
        return
    device, module = host(tmp_path)
    os.chmod(device, 0)
    problem, usable = kvm_problem(device, module)
    assert not usable and "not readable and writable" in problem


def test_pvm_is_kvm_that_cannot_boot_a_stock_kernel(tmp_path: Path) -> None:
    problem, usable = kvm_problem(*host(tmp_path, pvm=True))
    assert usable and "PVM" in problem and "kvm_pvm" in problem


def test_a_plain_kvm_host_has_no_problem(tmp_path: Path) -> None:
    assert kvm_problem(*host(tmp_path)) == ("", True)


@pytest.mark.parametrize(
    "device,pvm,expected",
    [(True, False, "kvm"), (True, True, "tcg"), (False, False, "tcg")],
)
def test_auto_takes_kvm_only_where_it_boots(
    tmp_path: Path, device: bool, pvm: bool, expected: str
) -> None:
    paths = host(tmp_path, device, pvm)
    accel, note = choose_accel("auto", False, "qemu-system-x86_64", lambda: kvm_problem(*paths))
    assert accel == expected
    assert (note.startswith("using TCG: ") and expected == "tcg") or (note == "" and accel == "kvm")


def test_kvm_on_pvm_is_taken_with_a_warning(tmp_path: Path) -> None:
    paths = host(tmp_path, pvm=True)
    accel, note = choose_accel("kvm", False, "qemu-system-x86_64", lambda: kvm_problem(*paths))
    assert accel == "kvm" and note.startswith("KVM may not boot the guest")


def test_kvm_without_kvm_is_one_error_with_the_way_out(tmp_path: Path) -> None:
    paths = host(tmp_path, device=False)
    with pytest.raises(PunError) as raised:
        choose_accel("kvm", False, "qemu-system-x86_64", lambda: kvm_problem(*paths))
    (diagnostic,) = raised.value.diagnostics
    assert "cannot use KVM" in diagnostic.message and diagnostic.hint == "use --accel tcg"


def test_tcg_is_for_qemu_only(tmp_path: Path) -> None:
    # solo5-hvt and firecracker are KVM tenders: they have no emulator to fall back to.
    paths = host(tmp_path)
    with pytest.raises(PunError, match="solo5-hvt runs guests on KVM only"):
        choose_accel("tcg", True, "solo5-hvt", lambda: kvm_problem(*paths))
    assert choose_accel("tcg", False, "q", lambda: kvm_problem(*paths)) == ("tcg", "")


def test_a_kvm_tender_without_kvm_is_refused(tmp_path: Path) -> None:
    paths = host(tmp_path, device=False)
    with pytest.raises(PunError) as raised:
        choose_accel("auto", True, "firecracker", lambda: kvm_problem(*paths))
    assert raised.value.diagnostics[0].hint == "run on a host with KVM"
