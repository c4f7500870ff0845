"""Layer blobs written through the gzip pipeline, judged by independent readers: the system's
`gzip -t` (a valid member), Python's zlib (the bytes inside are the tar), hashlib over the files
(digest and diffID), tarfile (the entries). Also: every zlib level is accepted, ISA-L's bytes are
the same on every run, and a failure mid-stream leaves no blob behind."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import zlib
from pathlib import Path
from typing import BinaryIO, Iterator, List, Tuple

import pytest

from pun.oci.deflate import ISAL_LEVELS, GzipMember, engine
from pun.oci.fstree import Inline, Kind, Node
from pun.oci.layers import Compression, write_layer
from pun.solve.content import open_new_content

PAYLOAD = (b"unikernel " * 50_000) + os.urandom(3 * 1024 * 1024) + bytes(1_500_000)


def entries() -> List[Tuple[str, Node]]:
    return [
        ("/unikernel", Node(Kind.DIR, 0o755)),
        ("/unikernel/app", Node(Kind.FILE, 0o644, size=len(PAYLOAD), content=Inline(PAYLOAD))),
        ("/urunc.json", Node(Kind.FILE, 0o644, size=2, content=Inline(b"{}"))),
    ]


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("level", range(10))
def test_each_level_writes_a_valid_gzip_of_the_tar(tmp_path: Path, level: int) -> None:
    layer = write_layer(
        entries(), str(tmp_path), open_new_content, 0, Compression("gzip", level), True, "COPY"
    )
    blob = Path(layer.blob.path).read_bytes()
    assert layer.blob.digest == sha(blob) and layer.blob.size == len(blob)
    assert Path(layer.blob.path).name == layer.blob.digest.split(":")[1]
    tar = zlib.decompress(blob, 31)  # 31: a gzip member, header and trailer checked
    assert layer.diff_id == sha(tar)
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        names = archive.getnames()
        member = archive.extractfile("unikernel/app")
        assert member is not None and member.read() == PAYLOAD
    assert names == ["unikernel", "unikernel/app", "urunc.json"]
    if shutil.which("gzip"):
        subprocess.run(["gzip", "-t", layer.blob.path], check=True)
    if level == 0:
        assert len(blob) > len(tar)  # stored, not compressed
    assert [p.name for p in tmp_path.iterdir()] == [Path(layer.blob.path).name]


def test_the_same_entries_give_the_same_blob(tmp_path: Path) -> None:
    digests = set()
    for run in range(3):
        work = tmp_path / str(run)
        work.mkdir()
        layer = write_layer(
            entries(), str(work), open_new_content, 0, Compression("gzip", 6), True, "COPY"
        )
        digests.add((layer.blob.digest, layer.diff_id))
    assert len(digests) == 1


def test_levels_map_onto_isal_and_stay_ordered() -> None:
    assert ISAL_LEVELS[0] is None and engine(0) == "zlib 0"
    assert list(ISAL_LEVELS[1:]) == sorted(ISAL_LEVELS[1:])  # a higher level never compresses less
    text = b"".join(b"%d: the quick brown fox %x\n" % (i, i * i) for i in range(100_000))
    sizes = []
    for level in (1, 6, 9):
        member = GzipMember(level)
        data = member.header() + member.compress(text) + member.finish()
        assert zlib.decompress(data, 31) == text
        sizes.append(len(data))
    assert sizes[0] >= sizes[1] >= sizes[2]
    with pytest.raises(ValueError):
        GzipMember(10)


def test_a_failure_mid_stream_leaves_nothing(tmp_path: Path) -> None:
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: "bytearray | memoryview") -> int:  # type: ignore[override]
            raise OSError("disk on fire")

    @contextlib.contextmanager
    def opener(node: Node) -> Iterator[BinaryIO]:
        if node.size > 1000:
            yield Broken()  # type: ignore[misc]
        else:
            with open_new_content(node) as handle:
                yield handle

    with pytest.raises(OSError, match="disk on fire"):
        write_layer(entries(), str(tmp_path), opener, 0, Compression("gzip", 6), True, "COPY")
    assert list(tmp_path.iterdir()) == []
