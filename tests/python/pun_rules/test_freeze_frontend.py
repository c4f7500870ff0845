"""The freeze script's own steps, on real files: the ldd closure refuses a library the system
cannot provide, and the layer's modes do not depend on the builder's umask."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pun.oci.fstree import Kind
from pun_rules.sandbox.freeze_frontend import FreezeError, layer_entries, shared_libraries
from pun_testing.tools import unavailable


def test_a_library_ldd_cannot_find_stops_the_freeze(tmp_path: Path) -> None:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        unavailable("no C compiler to make an executable with a missing library")
        return
    (tmp_path / "gone.c").write_text("int gone(void) { return 1; }\n")
    (tmp_path / "main.c").write_text("int gone(void);\nint main(void) { return gone(); }\n")
    subprocess.run(
        [
            compiler,
            "-shared",
            "-fPIC",
            "-o",
            str(tmp_path / "libgone.so"),
            str(tmp_path / "gone.c"),
        ],
        check=True,
    )
    subprocess.run(
        [
            compiler,
            "-o",
            str(tmp_path / "prog"),
            str(tmp_path / "main.c"),
            f"-L{tmp_path}",
            "-lgone",
        ],
        check=True,
    )
    (tmp_path / "libgone.so").unlink()

    with pytest.raises(FreezeError) as raised:
        shared_libraries(str(tmp_path / "prog"))
    assert "libgone.so => not found" in str(raised.value)
    # And one that resolves: the C library, at an absolute path.
    assert any(
        os.path.basename(lib).startswith("libc.so")
        for lib in shared_libraries(str(Path(shutil.which("ls") or "/bin/ls").resolve()))
    )


def test_layer_modes_do_not_depend_on_the_umask(tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    (rootfs / "usr" / "lib" / "pun").mkdir(parents=True)
    (rootfs / "tmp").mkdir()
    os.chmod(rootfs / "tmp", 0o1777)
    os.chmod(rootfs / "usr", 0o775)  # as a umask of 002 leaves them
    (rootfs / "usr" / "lib" / "pun" / "pun").write_bytes(b"\x7fELF")
    os.chmod(rootfs / "usr" / "lib" / "pun" / "pun", 0o775)
    (rootfs / "usr" / "lib" / "pun" / "data").write_bytes(b"data")
    os.chmod(rootfs / "usr" / "lib" / "pun" / "data", 0o664)
    (rootfs / "usr" / "lib" / "pun" / "link").symlink_to("data")

    entries = dict(layer_entries(str(rootfs), epoch=7))

    assert list(entries) == [
        "/tmp",
        "/usr",
        "/usr/lib",
        "/usr/lib/pun",
        "/usr/lib/pun/data",
        "/usr/lib/pun/link",
        "/usr/lib/pun/pun",
    ]
    modes = {path: node.mode for path, node in entries.items() if node.kind is not Kind.SYMLINK}
    assert modes == {
        "/tmp": 0o1777,
        "/usr": 0o755,
        "/usr/lib": 0o755,
        "/usr/lib/pun": 0o755,
        "/usr/lib/pun/data": 0o644,
        "/usr/lib/pun/pun": 0o755,
    }
    assert entries["/usr/lib/pun/link"].linkname == "data"
    assert {(n.uid, n.gid, n.mtime) for n in entries.values()} == {(0, 0, 7)}
