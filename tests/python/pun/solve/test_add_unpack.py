"""ADD of context files: local tar archives unpacked as BuildKit's Dockerfile frontend does
(oracle: a real BuildKit v0.32, `buildctl build --frontend dockerfile.v0`), anything else
copied; URLs and git refused before any work."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from pun.api import generate
from pun.diagnostics import PunError
from pun_testing.building import pun_build
from pun_testing.buildkit import BuildKit, buildkit  # noqa: F401 (fixture)
from pun_testing.oracle_compare import PUN_ONLY_PATHS, snapshot, tar_snapshot

CONTAINERFILE = """\
FROM scratch
ADD app.tar.gz /opt/
ADD plain.txt /plain/
ADD fake.tar /fake.tar
ADD --chown=7:8 app.tar.gz /owned
ADD app.tar.gz /opt/
ADD app.tar.gz plain.txt /many/
"""


def add(
    tar: tarfile.TarFile,
    name: str,
    kind: bytes,
    mode: int,
    uid: int,
    data: bytes = b"",
    link: str = "",
) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid, info.mtime = kind, mode, uid, uid + 1, 1234567
    info.linkname, info.size = link, len(data)
    tar.addfile(info, io.BytesIO(data) if data else None)


def make_context(root: Path) -> Path:
    root.mkdir()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        add(tar, "./", tarfile.DIRTYPE, 0o700, 0)
        add(tar, "d/", tarfile.DIRTYPE, 0o750, 1000)
        add(tar, "d/f", tarfile.REGTYPE, 0o640, 1000, b"inside\n")
        add(tar, "d/l", tarfile.SYMTYPE, 0o777, 1000, link="f")
        add(tar, "top.txt", tarfile.REGTYPE, 0o4755, 0, b"top\n")
        add(tar, "deep/er/x", tarfile.REGTYPE, 0o600, 5, b"x")  # parents not in the archive
    (root / "app.tar.gz").write_bytes(buffer.getvalue())
    (root / "plain.txt").write_text("plain\n")
    (root / "fake.tar").write_text("not an archive\n")
    (root / "Dockerfile").write_text(CONTAINERFILE)
    return root


def test_add_unpacks_like_buildkit(tmp_path: Path, buildkit: BuildKit) -> None:  # noqa: F811
    context = make_context(tmp_path / "ctx")
    oracle = tmp_path / "buildkit.tar"
    subprocess.run(
        buildkit.argv(
            "build",
            "--frontend",
            "dockerfile.v0",
            "--local",
            f"context={context}",
            "--local",
            f"dockerfile={context}",
            "--output",
            f"type=tar,dest={oracle}",
        ),
        check=True,
        capture_output=True,
        timeout=300,
    )
    ours = tmp_path / "rootfs"
    result = pun_build(
        [
            "-f",
            str(context / "Dockerfile"),
            "--context",
            str(context),
            "--output",
            f"type=local,dest={ours}",
        ],
        tmp_path / "cache",
    )
    assert result.code == 0, result.err
    expected = tar_snapshot(oracle, skip=PUN_ONLY_PATHS)
    assert snapshot(ours, skip=PUN_ONLY_PATHS) == expected
    # The oracle did unpack (the test would pass vacuously otherwise).
    assert expected["opt/d/f"][2:4] == (1000, 1001) and expected["owned/d/f"][2:4] == (7, 8)
    assert expected["fake.tar"][0] == "file" and "many/d/l" in expected


@pytest.mark.parametrize(
    "source", ["https://example.com/a.tar", "git@github.com:o/r.git", "https://h/r.git#main"]
)
def test_add_from_a_url_or_git_is_one_error_naming_the_line(source: str) -> None:
    with pytest.raises(PunError) as caught:
        generate(f"FROM scratch\n\nADD {source} /x/\n")
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.line == 3 and "URL or git" in diagnostic.message
    assert "COPY" in diagnostic.hint


def test_a_hard_link_is_a_file_with_its_target_s_bytes(tmp_path: Path) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    with tarfile.open(context / "a.tar", mode="w") as tar:
        add(tar, "f", tarfile.REGTYPE, 0o644, 0, b"same\n")
        add(tar, "h", tarfile.LNKTYPE, 0o644, 0, link="f")
    (context / "Containerfile").write_text("FROM scratch\nADD a.tar /x/\n")
    ours = tmp_path / "rootfs"
    result = pun_build(
        ["--context", str(context), "--output", f"type=local,dest={ours}"], tmp_path / "cache"
    )
    assert result.code == 0, result.err
    assert (ours / "x" / "h").read_bytes() == b"same\n" == (ours / "x" / "f").read_bytes()
