"""The monitor and guest command lines against facts stated in urunc's source
(urunc-dev/urunc, read 2026-12): each expected value below is written from the Go code named in
the test, not from this project's builder."""

from __future__ import annotations

import json

import pytest

from pun.diagnostics import PunError
from pun.run import guests, monitors
from pun.run.guests import GuestParams


def linux(args, env=(), rootfs="initrd"):  # type: ignore[no-untyped-def]
    return guests.linux_command(GuestParams(tuple(args), tuple(env), "qemu", rootfs))


def test_linux_initrd_guest() -> None:
    # unikernels/linux.go CommandString: "panic=-1", console, "root=/dev/ram0 rw" and the "rd"
    # prefix for an initrd rootfs, each env var, then rdinit=App + " -- " + Command.
    assert linux(["/init"], ["A=1", "B=2"]) == (
        "panic=-1 console=ttyS0 root=/dev/ram0 rw A=1 B=2 rdinit=/init -- "
    )


def test_linux_guest_without_rootfs_uses_init() -> None:
    assert linux(["/sbin/app", "-v"], rootfs="") == "panic=-1 console=ttyS0 init=/sbin/app -- -v"


def test_linux_multi_word_arguments_are_quoted_for_urunit() -> None:
    # parseCmdLine: TrimSpace, then an argument containing " " is wrapped in '...'.
    assert linux(["/init", " two words ", "one"]).endswith("rdinit=/init -- 'two words' one")


def test_linux_urunit_init_gets_no_env_on_the_command_line() -> None:
    # CommandString: the env goes to the command line only when !InitrdConf, and InitrdConf is
    # strings.Contains(App, "urunit").
    assert "A=1" not in linux(["/urunit", "/app"], ["A=1"])


def test_linux_without_args_is_refused() -> None:
    # parseCmdLine: len(cmdLine) == 0 -> "no init was specified".
    with pytest.raises(PunError, match="no init was specified"):
        linux([])


def test_qemu_argv_for_a_linux_guest() -> None:
    # hypervisors/qemu.go BuildExecCmd: -m MB"M", -L /usr/share/qemu, -cpu host, -enable-kvm,
    # -display none, -vga none, -monitor null, -serial stdio, -smp N, -kernel, -nic none (no
    # tap), -initrd, the guest's MonitorCli OtherArgs (linux.go: -no-reboot -nodefaults),
    # -append. Memory: vmm.go DefaultMemory = 256.
    args = monitors.MonitorArgs("/r/k", "/r/i", "CMD", "linux")
    argv = monitors.qemu_argv("/usr/bin/qemu-system-x86_64", args)
    assert argv == [
        "/usr/bin/qemu-system-x86_64",
        "-m",
        "256M",
        "-L",
        "/usr/share/qemu",
        "-cpu",
        "host",
        "-enable-kvm",
        "-display",
        "none",
        "-vga",
        "none",
        "-monitor",
        "null",
        "-serial",
        "stdio",
        "-smp",
        "1",
        "-kernel",
        "/r/k",
        "-nic",
        "none",
        "-initrd",
        "/r/i",
        "-no-reboot",
        "-nodefaults",
        "-append",
        "CMD",
    ]


def test_qemu_tcg_replaces_only_the_cpu_and_accelerator() -> None:
    kvm = monitors.qemu_argv("q", monitors.MonitorArgs("/k", "", "C", "linux"))
    tcg = monitors.qemu_argv("q", monitors.MonitorArgs("/k", "", "C", "linux", accel="tcg"))
    assert [a for a in kvm if a not in ("host", "-enable-kvm")] == [
        a for a in tcg if a not in ("max", "-accel", "tcg")
    ]
    assert "-initrd" not in tcg  # no initrd annotation, no -initrd


def test_qemu_non_linux_guests_get_no_linux_extras() -> None:
    # unikraft.go / mirage.go MonitorCli: empty.
    argv = monitors.qemu_argv("q", monitors.MonitorArgs("/k", "", "C", "unikraft"))
    assert "-no-reboot" not in argv and argv[-2:] == ["-append", "C"]


def test_solo5_hvt_argv() -> None:
    # hypervisors/hvt.go: binary, "--mem=" + MB, then "--", the unikernel, the command if any.
    args = monitors.MonitorArgs("/r/redis.hvt", "", '{"cmdline":"redis"}', "rumprun")
    assert monitors.solo5_argv("/usr/bin/solo5-hvt", args) == [
        "/usr/bin/solo5-hvt",
        "--mem=256",
        "--",
        "/r/redis.hvt",
        '{"cmdline":"redis"}',
    ]


def test_firecracker_config_and_argv() -> None:
    # hypervisors/firecracker.go: --no-api --config-file FILE (--no-seccomp without a seccomp
    # profile); boot-source kernel_image_path/boot_args/initrd_path, machine-config with
    # vcpu_count, mem_size_mib (256 default), smt false, track_dirty_pages false; drives [].
    args = monitors.MonitorArgs("/r/k", "/r/i", "console=ttyS0", "linux")
    config = json.loads(monitors.firecracker_config(args))
    assert config == {
        "boot-source": {
            "kernel_image_path": "/r/k",
            "boot_args": "console=ttyS0",
            "initrd_path": "/r/i",
        },
        "machine-config": {
            "vcpu_count": 1,
            "mem_size_mib": 256,
            "smt": False,
            "track_dirty_pages": False,
        },
        "drives": [],
    }
    assert monitors.firecracker_argv("fc", "/t/fc.json") == [
        "fc",
        "--no-api",
        "--config-file",
        "/t/fc.json",
        "--no-seccomp",
    ]


def test_rumprun_config_string() -> None:
    # unikernels/rumprun.go CommandString: {"cmdline":"<args joined by space>"} plus one
    # ,"env":"K=V" per variable (not an array), no net/blk without devices, & not escaped.
    params = GuestParams(("redis-server", "/data/conf"), ("A=1", "B=x&y"), "hvt")
    assert guests.rumprun_command(params) == (
        '{"cmdline":"redis-server /data/conf","env":"A=1","env":"B=x&y"}'
    )


def test_mirage_and_unikraft_strings() -> None:
    # mirage.go: Sprintf("%s %s %s", address, gateway, command); no network: both empty.
    assert guests.mirage_command(GuestParams(("--hello",), (), "hvt")) == "  --hello"
    # unikraft.go (no version: current args): "%s %s %s %s %s %s %s -- %s" with AppName
    # "Unikraft", console "" on amd64, env.vars=[ ... ], netdev.ip=IP/24:GW:8.8.8.8, "", "",
    # the initrd fstab.
    text = guests.unikraft_command(GuestParams(("-c", "x"), ("A=1",), "qemu", "initrd"))
    assert text == (
        "Unikraft  env.vars=[ A=1 ] netdev.ip=/24::8.8.8.8   "
        'vfs.fstab=[ "initrd0:/:extract:::" ] -- -c x'
    )


def test_args_come_from_entrypoint_and_cmd_then_the_cmdline_label() -> None:
    # unikontainers.go (0.5): CmdLine = spec Process.Args (Entrypoint + Cmd); when empty,
    # strings.Fields(the cmdline annotation).
    assert guests.guest_args(("/a",), ("b",), "ignored") == ("/a", "b")
    assert guests.guest_args((), (), "  /init  -v ") == ("/init", "-v")


def test_qemu_binary_is_per_host_architecture() -> None:
    # vmm.go getVMMPath: "qemu-system-" + cpuArch() (amd64 -> x86_64, arm64 -> aarch64).
    import platform

    expected = {"x86_64": "x86_64", "aarch64": "aarch64"}.get(platform.machine())
    if expected:
        assert monitors.binary_name("qemu") == f"qemu-system-{expected}"
    assert monitors.binary_name("hvt") == "solo5-hvt"
    assert monitors.binary_name("firecracker") == "firecracker"


def test_old_unikraft_versions_are_refused_not_guessed() -> None:
    # unikraft.go: below UnikraftCompatVersion "0.16.1" urunc uses other (compat) arguments.
    guests.require_current_unikraft("0.17.0", "x")
    guests.require_current_unikraft("", "x")
    with pytest.raises(PunError, match="Unikraft >= 0.16.1 only"):
        guests.require_current_unikraft("0.15.0", "x")


def test_linux_arguments_are_trimmed_as_go_trims_them() -> None:
    # linux.go parseCmdLine: every argument goes through strings.TrimSpace (unicode.IsSpace:
    # \t \n \v \f \r space U+0085 U+00A0 and Unicode's White_Space, e.g. U+3000; not the
    # \x1c-\x1f separators Python's str.strip() also removes), spaces inside or not.
    assert linux(["\t/init\n", " -v\u3000", "\x1cx"]).endswith("rdinit=/init -- -v \x1cx")


def test_linux_console_on_arm64_qemu_is_the_pl011() -> None:
    # linux.go CommandString: console=ttyAMA0 when GOARCH is arm64 and the monitor is qemu,
    # console=ttyS0 otherwise (firecracker on arm64 too).
    params = GuestParams(("/init",), (), "qemu", "initrd")
    assert " console=ttyAMA0 " in guests.linux_command(params, machine="aarch64")
    assert " console=ttyS0 " in guests.linux_command(params, machine="x86_64")
    fc = GuestParams(("/init",), (), "firecracker", "initrd")
    assert " console=ttyS0 " in guests.linux_command(fc, machine="aarch64")


def test_a_memory_limit_is_mb_for_qemu_and_solo5_and_mib_for_firecracker() -> None:
    # utils.go: BytesToStringMB (qemu.go, hvt.go, spt.go) divides the limit by 1000*1000,
    # bytesToMiB (firecracker.go) by 1024*1024; without a limit both use DefaultMemory, 256.
    limited = monitors.MonitorArgs("/k", "", "C", "linux", memory_mb=512)
    assert monitors.qemu_argv("q", limited)[1:3] == ["-m", "512M"]
    assert monitors.solo5_argv("s", limited)[1] == "--mem=512"
    assert json.loads(monitors.firecracker_config(limited))["machine-config"]["mem_size_mib"] == (
        488  # 512,000,000 bytes // 1,048,576
    )
    default = monitors.MonitorArgs("/k", "", "C", "linux")
    assert json.loads(monitors.firecracker_config(default))["machine-config"]["mem_size_mib"] == 256
