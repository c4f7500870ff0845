"""`pun run` on images pun builds: urunc's precedence and checks, decided before any monitor
starts (a stand-in monitor on PATH records whether it was started and with what)."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from pun.run.settings import read_urunc_json
from pun_testing.booting import build_image, fake_monitor, image_env, pun_run, strip_urunc_settings

HVT_IMAGE = """FROM scratch
COPY hello.hvt /unikernel/hello.hvt
LABEL com.urunc.unikernel.binary=/unikernel/hello.hvt
LABEL com.urunc.unikernel.cmdline=hello
LABEL com.urunc.unikernel.unikernelType=rumprun
LABEL com.urunc.unikernel.hypervisor={hypervisor}
"""


def context(tmp_path: Path) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "hello.hvt").write_bytes(b"\x7fELF not really")
    return ctx


def path_with(bin_dir: Path) -> dict:
    return {"PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin"}


def test_hvt_guest_gets_urunc_argv(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    archive = build_image(ctx, HVT_IMAGE.format(hypervisor="hvt"), tmp_path / "cache")
    record = fake_monitor(tmp_path / "bin", "solo5-hvt")
    done = pun_run([str(archive), "--env", "A=1"], env=path_with(tmp_path / "bin"))
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b"fake-guest-output\n"  # the monitor's stdout is pun run's stdout
    argv = record.read_text().splitlines()
    # hvt.go: --mem=256 -- <binary> <rumprun config>; the args from the cmdline label (0.5).
    assert argv[1:3] == ["--mem=256", "--"]
    assert argv[3].endswith("/unikernel/hello.hvt")
    # rumprun.go: one ,"env":"K=V" per variable of the spec's env: the image's Env, then ours.
    env = "".join(f',"env":"{e}"' for e in [*image_env(archive), "A=1"])
    assert argv[4] == '{"cmdline":"hello"' + env + "}"
    assert b"settings from the manifest annotations and config labels" in done.stderr


def test_missing_monitor_is_named(tmp_path: Path) -> None:
    archive = build_image(context(tmp_path), HVT_IMAGE.format(hypervisor="hvt"), tmp_path / "c")
    (tmp_path / "empty").mkdir()
    done = pun_run([str(archive)], env={"PATH": str(tmp_path / "empty")})
    assert done.returncode == 1 and done.stdout == b""
    err = done.stderr.decode()
    assert "solo5-hvt (the hvt monitor) is not on PATH" in err and "hint:" in err


def test_unknown_pair_fails_before_the_monitor_starts(tmp_path: Path) -> None:
    # annotations.go validateValues: `unsupported guest monitor pair %s %s` (monitor, guest).
    archive = build_image(context(tmp_path), HVT_IMAGE.format(hypervisor="qemu"), tmp_path / "c")
    record = fake_monitor(tmp_path / "bin", "qemu-system-x86_64")
    done = pun_run([str(archive)], env=path_with(tmp_path / "bin"))
    assert done.returncode == 1, done.stderr.decode()
    err = done.stderr.decode()
    assert "unsupported guest monitor pair qemu rumprun" in err
    assert "rumprun runs on: hvt, spt" in err and "Traceback" not in err
    assert not record.exists() and done.stdout == b""


def test_missing_hypervisor_fails_before_the_monitor_starts(tmp_path: Path) -> None:
    # annotations.go validate: "unikernel configuration is missing mandatory field: %s"; with
    # /urunc.json lacking it too, GetUnikernelConfig returns ErrNotUnikernel (runc takes over).
    text = "\n".join(line for line in HVT_IMAGE.splitlines() if "hypervisor" not in line)
    archive = build_image(context(tmp_path), text + "\n", tmp_path / "c")
    record = fake_monitor(tmp_path / "bin", "solo5-hvt")
    done = pun_run([str(archive)], env=path_with(tmp_path / "bin"))
    assert done.returncode == 1
    err = done.stderr.decode()
    assert (
        "unikernel configuration is missing mandatory field: com.urunc.unikernel.hypervisor" in err
    )
    assert "/urunc.json lacks it too" in err and "hands it to runc" in err
    assert not record.exists()


def test_urunc_json_is_the_fallback_and_its_values_are_base64(tmp_path: Path) -> None:
    built = build_image(context(tmp_path), HVT_IMAGE.format(hypervisor="hvt"), tmp_path / "c")
    archive = strip_urunc_settings(built, tmp_path / "json-only.oci.tar")
    record = fake_monitor(tmp_path / "bin", "solo5-hvt")
    done = pun_run([str(archive)], env=path_with(tmp_path / "bin"))
    assert done.returncode == 0, done.stderr.decode()
    # The cmdline came base64-encoded from /urunc.json and was decoded.
    env = "".join(f',"env":"{e}"' for e in image_env(archive))
    assert record.read_text().splitlines()[-1] == '{"cmdline":"hello"' + env + "}"
    assert b"settings from the /urunc.json" in done.stderr


def test_urunc_json_values_must_be_base64(tmp_path: Path) -> None:
    (tmp_path / "urunc.json").write_text(
        json.dumps({"com.urunc.unikernel.hypervisor": "hvt!", "other.label": "not read"})
    )
    values, why = read_urunc_json(str(tmp_path))
    assert values is None and "com.urunc.unikernel.hypervisor is not base64" in why
    (tmp_path / "urunc.json").write_text(
        json.dumps({"com.urunc.unikernel.hypervisor": base64.b64encode(b"hvt").decode()})
    )
    assert read_urunc_json(str(tmp_path)) == ({"com.urunc.unikernel.hypervisor": "hvt"}, "")


def test_print_command_writes_only_the_command(tmp_path: Path) -> None:
    archive = build_image(context(tmp_path), HVT_IMAGE.format(hypervisor="hvt"), tmp_path / "c")
    done = pun_run([str(archive), "--print-command"], env={"PATH": "/nonexistent"})
    assert done.returncode == 0, done.stderr.decode()
    words = done.stdout.decode().split()
    assert words[0] == "solo5-hvt" and words[1:3] == ["--mem=256", "--"]


def test_timeout_stops_the_guest(tmp_path: Path) -> None:
    archive = build_image(context(tmp_path), HVT_IMAGE.format(hypervisor="hvt"), tmp_path / "c")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    slow = bin_dir / "solo5-hvt"
    slow.write_text("#!/bin/sh\nexec sleep 30\n")
    slow.chmod(0o755)
    done = pun_run([str(archive), "--timeout", "1"], env=path_with(bin_dir), timeout=25)
    assert done.returncode == 124
    assert b"longer than --timeout 1 s" in done.stderr


def test_llb_mode_imports_neither_run_nor_initrd(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "Containerfile").write_text(HVT_IMAGE.format(hypervisor="hvt"))
    code = (
        "import sys, io\n"
        "from pun.cli.main import main\n"
        "sys.stdout = io.TextIOWrapper(io.BytesIO())\n"
        f"assert main(['--LLB', '-f', {str(tmp_path / 'Containerfile')!r}]) == 0\n"
        "loaded = [m for m in sys.modules if m.startswith(('pun.run', 'pun.initrd'))]\n"
        "assert not loaded, loaded\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()


LINUX_IMAGE = """FROM scratch
COPY vmlinuz /kernel/vmlinuz
COPY initrd.cpio /kernel/initrd.cpio
LABEL com.urunc.unikernel.unikernelType=linux com.urunc.unikernel.hypervisor=qemu
LABEL com.urunc.unikernel.binary=/kernel/vmlinuz com.urunc.unikernel.initrd=/kernel/initrd.cpio
LABEL com.urunc.unikernel.mountRootfs=false
CMD ["/init", "hello"]
"""


def test_accel_tcg_swaps_only_the_cpu_and_accelerator(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "vmlinuz").write_bytes(b"MZ not a kernel")
    (ctx / "initrd.cpio").write_bytes(b"070701")
    archive = build_image(ctx, LINUX_IMAGE, tmp_path / "cache")
    done = pun_run([str(archive), "--print-command", "--accel", "tcg"], env={"PATH": "/none"})
    assert done.returncode == 0, done.stderr.decode()
    words = done.stdout.decode().split()
    # qemu.go BuildExecCmd with `-cpu host -enable-kvm` replaced by TCG's `-cpu max -accel tcg`.
    assert words[1:8] == ["-m", "256M", "-L", "/usr/share/qemu", "-cpu", "max", "-accel"]
    assert words[8] == "tcg" and "-enable-kvm" not in words
    assert words[-3:] == ["rdinit=/init", "--", "hello'"]  # -append '... rdinit=/init -- hello'


def test_memory_and_cpus_out_of_range_are_one_error(tmp_path: Path) -> None:
    # --memory 0 is "no limit" (urunc's 256 MB), so only a negative one is refused.
    for flags in (["--memory", "-1"], ["--cpus", "0"]):
        done = pun_run([str(tmp_path / "none.oci.tar"), *flags])
        assert done.returncode == 1 and done.stdout == b"", flags
        err = done.stderr.decode()
        assert "--memory must be 0 or more" in err and "Traceback" not in err, err
