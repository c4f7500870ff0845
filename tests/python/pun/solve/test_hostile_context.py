"""Contexts that try to make COPY read outside the context, loop, or exhaust memory.

Each must end in a clean error (exit 1, file:line, nothing written) or a correct copy.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pun_testing.building import pun_build
from pun_testing.shared import buildroot

GIB = 1024 * 1024 * 1024


def context_with(tmp_path: Path, containerfile: str) -> Path:
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Containerfile").write_text(containerfile)
    return context


def build_local(tmp_path: Path, context: Path) -> "tuple[int, str, Path]":
    dest = tmp_path / "out"
    run = pun_build(
        ["--context", str(context), "--output", f"type=local,dest={dest}"], tmp_path / "cache"
    )
    assert run.out == b""
    return run.code, run.err, dest


def test_dotdot_cannot_reach_the_parent_directory(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("outside")
    context = context_with(tmp_path, "FROM scratch\nCOPY ../secret /secret\n")
    code, err, dest = build_local(tmp_path, context)
    assert code == 1
    assert "Containerfile:2: error: COPY source ../secret not found" not in err  # LLB says /secret
    assert "Containerfile:2: error:" in err and "/secret not found in the build context" in err
    assert not dest.exists()


def test_an_absolute_source_symlink_resolves_in_the_context_or_fails(tmp_path: Path) -> None:
    # docker follows a symlink named as a COPY source, with the context as its root.
    context = context_with(tmp_path, "FROM scratch\nCOPY abs /abs\n")
    os.symlink("/etc/passwd", context / "abs")
    code, err, dest = build_local(tmp_path, context)
    assert code == 1
    assert "Containerfile:2: error:" in err and "/abs not found in the build context" in err
    assert not dest.exists()
    (context / "etc").mkdir()
    (context / "etc" / "passwd").write_text("the context's own\n")
    code, err, dest = build_local(tmp_path, context)
    assert code == 0, err
    assert (dest / "abs").read_text() == "the context's own\n"
    assert not (dest / "abs").is_symlink()


def test_an_absolute_symlink_stays_a_link_with_compat_pun(tmp_path: Path) -> None:
    context = context_with(tmp_path, "FROM scratch\nCOPY abs /abs\n")
    os.symlink("/etc/passwd", context / "abs")
    dest = tmp_path / "out"
    run = pun_build(
        ["--compat", "pun", "--context", str(context), "--output", f"type=local,dest={dest}"],
        tmp_path / "cache",
    )
    assert run.code == 0, run.err
    assert os.readlink(dest / "abs") == "/etc/passwd"


def test_a_symlinked_directory_resolves_inside_the_context(tmp_path: Path) -> None:
    context = context_with(tmp_path, "FROM scratch\nCOPY up/etc/passwd /stolen\n")
    os.symlink("../../../../../..", context / "up")
    code, err, dest = build_local(tmp_path, context)
    assert code == 1
    assert "Containerfile:2: error:" in err and "not found in the build context" in err
    assert not dest.exists()


def test_a_symlink_loop_is_detected(tmp_path: Path) -> None:
    context = context_with(tmp_path, "FROM scratch\nCOPY loop/x /x\n")
    os.symlink("loop", context / "loop")
    code, err, dest = build_local(tmp_path, context)
    assert code == 1
    assert "too many levels of symbolic links" in err
    assert not dest.exists()


def test_a_loop_inside_a_copied_directory_is_copied_as_a_link(tmp_path: Path) -> None:
    context = context_with(tmp_path, "FROM scratch\nCOPY dir /dir\n")
    (context / "dir").mkdir()
    os.symlink(".", context / "dir" / "self")
    code, err, dest = build_local(tmp_path, context)
    assert code == 0, err
    assert os.readlink(dest / "dir" / "self") == "."


def test_a_missing_source_names_the_line(tmp_path: Path) -> None:
    context = context_with(tmp_path, "FROM scratch\n\nCOPY nope /nope\n")
    code, err, dest = build_local(tmp_path, context)
    assert code == 1
    assert "Containerfile:3: error: COPY source /nope not found in the build context" in err
    assert "hint:" in err
    assert not dest.exists()


def test_a_fifo_is_refused_instead_of_blocking(tmp_path: Path) -> None:
    context = context_with(tmp_path, "FROM scratch\nCOPY dir /dir\n")
    (context / "dir").mkdir()
    os.mkfifo(context / "dir" / "pipe")
    code, err, dest = build_local(tmp_path, context)
    assert code == 1
    # The context reader knows no line; the COPY that read it does.
    assert "Containerfile:2: error: '/dir/pipe' in the build context is a fifo" in err, err
    assert not dest.exists()


@pytest.fixture
def sparse_context(tmp_path: Path) -> Path:
    context = context_with(tmp_path, "FROM scratch\nCOPY big.img /disk/big.img\n")
    with open(context / "big.img", "wb") as handle:
        handle.truncate(2 * GIB)
        handle.seek(2 * GIB - 5)
        handle.write(b"tail\n")
    return context


# The child reports its own peak (VmHWM, which execve resets): wait4's ru_maxrss would also
# count the pages it shared with this pytest process between fork and exec.
_REPORT_PEAK = """
import os, runpy, sys
sys.argv = ["pun", *sys.argv[1:]]
try:
    runpy.run_module("pun.cli.main", run_name="__main__", alter_sys=True)
finally:
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["PUN_TEST_PEAK_FILE"], "w") as report:
        report.write(peak)
"""


def peak_rss_kib(argv: "list[str]", cache: Path) -> "tuple[int, int, str]":
    peak_file = cache.parent / "peak-kib.txt"
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(cache),
        "PYTHONPATH": os.pathsep.join([str(buildroot() / "src" / "python"), *sys.path]),
        "PUN_TEST_PEAK_FILE": str(peak_file),
    }
    env.pop("BUILDKIT_HOST", None)
    with open(cache.parent / "stderr.txt", "wb") as err:
        done = subprocess.run(
            [sys.executable, "-c", _REPORT_PEAK, *argv],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            check=False,
        )
    return done.returncode, int(peak_file.read_text()), (cache.parent / "stderr.txt").read_text()


def test_a_2gib_sparse_file_is_copied_sparse_in_bounded_memory(
    tmp_path: Path, sparse_context: Path
) -> None:
    dest = tmp_path / "out"
    code, rss_kib, err = peak_rss_kib(
        ["build", "--context", str(sparse_context), "--output", f"type=local,dest={dest}"],
        tmp_path / "cache",
    )
    assert code == 0, err
    copied = dest / "disk" / "big.img"
    assert copied.stat().st_size == 2 * GIB
    assert copied.stat().st_blocks * 512 < 16 * 1024 * 1024  # the holes stayed holes
    with open(copied, "rb") as handle:
        handle.seek(2 * GIB - 5)
        assert handle.read() == b"tail\n"
    assert rss_kib < 100 * 1024, f"peak RSS {rss_kib} KiB"


def test_a_2gib_sparse_file_streams_into_a_layer_in_bounded_memory(
    tmp_path: Path, sparse_context: Path
) -> None:
    archive = tmp_path / "image.tar"
    code, rss_kib, err = peak_rss_kib(
        [
            "build",
            "--context",
            str(sparse_context),
            "--output",
            f"type=oci,dest={archive},compression-level=1",
        ],
        tmp_path / "cache",
    )
    assert code == 0, err
    assert archive.stat().st_size < 64 * 1024 * 1024  # 2 GiB of zeros compress well
    assert rss_kib < 100 * 1024, f"peak RSS {rss_kib} KiB"
