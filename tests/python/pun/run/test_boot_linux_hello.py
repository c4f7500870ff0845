"""examples/linux-hello as Pants packages it, booted by `pun run` the way urunc boots it (QEMU;
TCG where KVM cannot boot a stock kernel): the guest's /init line must reach stdout."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pun_testing.booting import image_env, pun_run, strip_urunc_settings
from pun_testing.tools import require

ARCHIVE = Path("examples.linux-hello/image.oci.tar")  # the runtime package, at its output_path
# The same guest, its initrd made by pun from the Containerfile's COPYs (pun.rootfs label).
ROOTFS_ARCHIVE = Path("examples.linux-hello/image-rootfs.oci.tar")
BUNNYFILE_ARCHIVE = Path("examples.linux-hello/image-bunnyfile.oci.tar")  # from its bunnyfile
# From a bunnyfile whose initrd pun builds out of its `include` list (initrd.bunnyfile).
INITRD_BUNNYFILE_ARCHIVE = Path("examples.linux-hello/image-initrd-bunnyfile.oci.tar")
GUEST_LINE = b"linux-hello: hello from a Linux guest booted by urunc's rules"
BOOT_LIMIT = 120  # seconds; under TCG on a loaded 2-core machine a boot takes 6-20 s


def boot(archive: Path, capsys: pytest.CaptureFixture[str]) -> bytes:
    require("qemu-system-x86_64")
    started = time.monotonic()
    done = pun_run([str(archive), "--timeout", str(BOOT_LIMIT)], timeout=BOOT_LIMIT + 60)
    seconds = time.monotonic() - started
    err = done.stderr.decode("utf-8", "replace")
    console = done.stdout.decode("utf-8", "replace")
    with capsys.disabled():  # into the test log, also when the test passes
        guest = [line for line in console.splitlines() if "linux-hello" in line]
        print(f"\n{archive.name}: pun run took {seconds:.1f} s; guest said: {guest}\n{err}")
    assert done.returncode == 0, err + done.stdout.decode("utf-8", "replace")[-2000:]
    assert GUEST_LINE in done.stdout, done.stdout.decode("utf-8", "replace")[-2000:]
    # The guest's console is on stdout only; pun run's own lines are on stderr.
    assert b"pun run:" not in done.stdout and b"pun run:" in done.stderr
    return done.stderr


def test_linux_hello_boots_and_prints_its_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert ARCHIVE.is_file(), "the examples/linux-hello:image runtime package is missing"
    err = boot(ARCHIVE, capsys)
    assert b"settings from the manifest annotations and config labels" in err
    env = " ".join(image_env(ARCHIVE))  # linux.go: the spec's env between root= and rdinit=
    expected = f"-append 'panic=-1 console=ttyS0 root=/dev/ram0 rw {env} rdinit=/init -- '"
    assert expected.replace("  ", " ").encode() in err


def test_an_image_with_settings_only_in_urunc_json_boots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = strip_urunc_settings(ARCHIVE, tmp_path / "json-only.oci.tar")
    err = boot(archive, capsys)
    assert b"settings from the /urunc.json" in err


def test_linux_hello_with_the_initrd_pun_made_boots(capsys: pytest.CaptureFixture[str]) -> None:
    assert ROOTFS_ARCHIVE.is_file(), "the examples/linux-hello:image-rootfs package is missing"
    err = boot(ROOTFS_ARCHIVE, capsys)
    assert b"-initrd " in err and b"initrd.cpio.gz" in err


def test_the_same_guest_from_a_bunnyfile_boots(capsys: pytest.CaptureFixture[str]) -> None:
    """examples/linux-hello/bunnyfile: bunny's rules put the kernel at /.boot/kernel and the
    prebuilt initrd at /.boot/rootfs (bunny hops/package.go), and urunc's rules boot them."""
    assert BUNNYFILE_ARCHIVE.is_file(), "the examples/linux-hello:image-bunnyfile runtime package"
    err = boot(BUNNYFILE_ARCHIVE, capsys)
    assert b"-kernel " in err and b"/.boot/kernel -" in err
    assert b"-initrd " in err and b"/.boot/rootfs " in err
    assert b"rdinit=/init" in err


def test_a_bunnyfile_whose_initrd_pun_builds_from_its_includes_boots(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """examples/linux-hello/initrd.bunnyfile: rootfs.type initrd from scratch with `include`;
    pun packs the files into a deterministic newc cpio at bunny's /.boot/rootfs."""
    archive = INITRD_BUNNYFILE_ARCHIVE
    assert archive.is_file(), "the examples/linux-hello:image-initrd-bunnyfile runtime package"
    err = boot(archive, capsys)
    assert b"-initrd " in err and b"/.boot/rootfs " in err
    assert b"rdinit=/init" in err
