"""`pun build` as a command: stdout carries data only, progress only when asked or on a TTY,
and `pun --LLB` never pays for importing the builder."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from pun.progress import Progress
from pun_testing.building import pun_build
from pun_testing.rootfs import writable_copy
from pun_testing.shared import CASES, buildroot


def context(tmp_path: Path) -> Path:
    ctx = writable_copy(CASES / "rumprun-redis", tmp_path / "ctx")
    # Set the rootfs labels, so that the Containerfile draws no warning at all.
    with open(ctx / "Containerfile", "a") as handle:
        handle.write(
            'LABEL com.urunc.unikernel.mountRootfs="false" com.urunc.unikernel.useDMBlock="false"\n'
        )
    return ctx


def test_stdout_is_empty_and_stderr_quiet_when_not_a_tty(tmp_path: Path) -> None:
    result = pun_build(
        ["--context", str(context(tmp_path)), "--output", f"type=oci,dest={tmp_path / 'x.tar'}"],
        tmp_path / "cache",
    )
    assert result.code == 0
    assert (result.out, result.err) == (b"", "")


def test_plain_progress_goes_to_stderr(tmp_path: Path) -> None:
    result = pun_build(
        [
            "--context",
            str(context(tmp_path)),
            "--progress",
            "plain",
            "--output",
            f"type=oci,dest={tmp_path / 'x.tar'}",
        ],
        tmp_path / "cache",
    )
    assert result.code == 0 and result.out == b""
    assert "#pun writing layer 1 (copy /test-redis.hvt /unikernel/test-redis.hvt)" in result.err
    assert "#pun writing image archive" in result.err


def test_tty_progress_redraws_one_line() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    progress = Progress("auto", stream)
    progress.start("hashing", 10)
    progress.finish()
    assert stream.getvalue().startswith("\r\x1b[Khashing 0.0 MiB / 0.0 MiB")
    assert Progress("auto", io.StringIO()).enabled is False


def test_dest_dash_streams_the_archive_to_stdout(tmp_path: Path) -> None:
    result = pun_build(
        ["--context", str(context(tmp_path)), "--output", "type=oci,dest=-"], tmp_path / "cache"
    )
    assert result.code == 0, result.err
    with tarfile.open(fileobj=io.BytesIO(result.out)) as tar:
        assert "index.json" in tar.getnames()


def test_metadata_file_is_written_atomically(tmp_path: Path) -> None:
    metadata = tmp_path / "meta.json"
    result = pun_build(
        [
            "--context",
            str(context(tmp_path)),
            "--output",
            f"type=oci,dest={tmp_path / 'x.tar'}",
            "--metadata-file",
            str(metadata),
        ],
        tmp_path / "cache",
    )
    assert result.code == 0 and result.out == b""
    assert json.loads(metadata.read_text())["containerimage.digest"].startswith("sha256:")


@pytest.mark.parametrize("builder", ["embedded", "buildctl"])
@pytest.mark.parametrize(
    "where, says",
    [
        ("missing/meta.json", "directory {tmp}/missing does not exist"),
        (".", "it is a directory"),  # the temporary file cannot be renamed over it
    ],
)
def test_a_metadata_file_that_cannot_be_written_fails_before_the_build(
    where: str, says: str, builder: str, tmp_path: Path
) -> None:
    archive = tmp_path / "x.tar"
    result = pun_build(
        [
            "--context",
            str(context(tmp_path)),
            "--builder",
            builder,
            "--buildctl",
            "/nonexistent/buildctl",  # never reached
            "--output",
            f"type=oci,dest={archive}",
            "--metadata-file",
            str(tmp_path / where),
        ],
        tmp_path / "cache",
    )
    assert (result.code, result.out) == (1, b"")
    said = says.format(tmp=tmp_path)
    assert f"error: cannot write {tmp_path / where}: {said}" in result.err
    assert "--metadata-file" in result.err and "Traceback" not in result.err
    assert not archive.exists()  # not built, so not left behind by a failed command


@pytest.mark.parametrize("kind", ["oci", "docker"])
def test_an_archive_dest_that_is_a_directory_is_one_error(kind: str, tmp_path: Path) -> None:
    result = pun_build(
        ["--context", str(context(tmp_path)), "--output", f"type={kind},dest={tmp_path}"],
        tmp_path / "cache",
    )
    assert (result.code, result.out) == (1, b"")
    assert f"error: cannot write {tmp_path}: it is a directory" in result.err
    assert "Traceback" not in result.err


def test_errors_name_the_file_and_line_and_write_nothing(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    (ctx / "Containerfile").write_text("FROM scratch\nCOPY missing.hvt /unikernel/\n")
    dest = tmp_path / "x.tar"
    result = pun_build(
        ["--context", str(ctx), "--output", f"type=oci,dest={dest}"], tmp_path / "cache"
    )
    assert result.code == 1 and result.out == b""
    assert f"{ctx / 'Containerfile'}:2: error: COPY source /missing.hvt not found" in result.err
    assert not dest.exists() and not list(tmp_path.glob(".x.tar*"))


def test_type_image_needs_push(tmp_path: Path) -> None:
    result = pun_build(
        ["--context", str(context(tmp_path)), "--output", "type=image,name=a.test/b"],
        tmp_path / "cache",
    )
    assert result.code == 1 and "push=true" in result.err


def test_a_second_output_is_refused_not_dropped(tmp_path: Path) -> None:
    first, second = tmp_path / "a.tar", tmp_path / "b.tar"
    result = pun_build(
        [
            "--context",
            str(context(tmp_path)),
            "--output",
            f"type=oci,dest={first}",
            "--output",
            f"type=oci,dest={second}",
        ],
        tmp_path / "cache",
    )
    assert result.code == 1 and result.out == b""
    assert "error: --output is given 2 times" in result.err
    assert not first.exists() and not second.exists()


def test_local_output_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "keep").write_text("mine")
    result = pun_build(
        ["--context", str(context(tmp_path)), "--output", f"type=local,dest={dest}"],
        tmp_path / "cache",
    )
    assert result.code == 1 and "not an empty directory" in result.err
    assert (dest / "keep").read_text() == "mine"


def test_llb_mode_does_not_import_the_builder(tmp_path: Path) -> None:
    code = (
        "import sys, io\n"
        "from pun.cli.main import main\n"
        "sys.stdout = io.TextIOWrapper(io.BytesIO())\n"
        f"assert main(['--LLB', '-f', {str(CASES / 'rumprun-redis' / 'Containerfile')!r}]) == 0\n"
        "loaded = [m for m in sys.modules if m.startswith('pun.solve') or m == 'requests']\n"
        "assert not loaded, loaded\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(buildroot() / "src" / "python"), *sys.path]),
    }
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()


def test_a_bad_image_name_fails_before_building(tmp_path: Path) -> None:
    dest = tmp_path / "x.tar"
    result = pun_build(
        ["--context", str(context(tmp_path)), "--output", f"type=oci,dest={dest},name=Not/Valid"],
        tmp_path / "cache",
    )
    assert result.code == 1 and "name='Not/Valid'" in result.err
    assert "must be lowercase" in result.err
    assert not dest.exists()


def test_metadata_and_archive_cannot_share_stdout(tmp_path: Path) -> None:
    result = pun_build(
        [
            "--context",
            str(context(tmp_path)),
            "--output",
            "type=oci,dest=-",
            "--metadata-file",
            "-",
        ],
        tmp_path / "cache",
    )
    assert result.code == 1
    assert result.out == b""
    assert "both write to stdout" in result.err


def test_a_planned_build_gives_the_same_image_as_the_containerfile(tmp_path: Path) -> None:
    from pun.api import GenerateOptions, generate
    from pun.buildplan import spec_file_bytes

    ctx = context(tmp_path)
    generated = generate(
        (ctx / "Containerfile").read_text(),
        GenerateOptions(path="Containerfile", local_unique_id="pinned"),
    )
    (tmp_path / "def.pb").write_bytes(generated.definition)
    (tmp_path / "spec.json").write_bytes(
        spec_file_bytes(generated.image, "Containerfile", generated.source_map)
    )
    planned = pun_build(
        [
            "--definition",
            str(tmp_path / "def.pb"),
            "--image-spec",
            str(tmp_path / "spec.json"),
            "--context",
            str(ctx),
            "--output",
            f"type=oci,dest={tmp_path / 'planned.tar'}",
            "--metadata-file",
            str(tmp_path / "planned.json"),
        ],
        tmp_path / "cache",
    )
    direct = pun_build(
        [
            "--context",
            str(ctx),
            "--local-unique-id",
            "pinned",
            "--output",
            f"type=oci,dest={tmp_path / 'direct.tar'}",
            "--metadata-file",
            str(tmp_path / "direct.json"),
        ],
        tmp_path / "cache",
    )
    assert planned.code == direct.code == 0, planned.err + direct.err
    assert planned.err == ""  # the plan was checked when it was made: nothing re-parsed
    digest = "containerimage.digest"
    assert (
        json.loads((tmp_path / "planned.json").read_text())[digest]
        == json.loads((tmp_path / "direct.json").read_text())[digest]
    )


def test_a_planned_build_refuses_llb_shaping_flags(tmp_path: Path) -> None:
    (tmp_path / "d").write_bytes(b"")
    (tmp_path / "s").write_text("{}")
    out = f"type=oci,dest={tmp_path / 'x.tar'}"
    mixed = pun_build(
        [
            "--definition",
            str(tmp_path / "d"),
            "--image-spec",
            str(tmp_path / "s"),
            "--platform",
            "linux/arm64",
            "--output",
            out,
        ],
        tmp_path / "cache",
    )
    assert mixed.code == 1 and "--platform shape the LLB" in mixed.err
    half = pun_build(["--definition", str(tmp_path / "d"), "--output", out], tmp_path / "cache")
    assert half.code == 1 and "go together" in half.err
    bad = pun_build(
        ["--definition", str(tmp_path / "d"), "--image-spec", str(tmp_path / "s"), "--output", out],
        tmp_path / "cache",
    )
    assert bad.code == 1 and "not an image spec file" in bad.err and "Traceback" not in bad.err
    assert not (tmp_path / "x.tar").exists()
