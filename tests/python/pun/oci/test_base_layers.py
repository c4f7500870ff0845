"""Base layers add up to a root filesystem the way a container runtime applies them, whiteouts
included. The layer tars are written here with tarfile, not with pun's layer writer."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import List, Tuple

from pun.oci.baselayers import scan_layers


def layer(path: Path, entries: List[Tuple[str, bytes]]) -> str:
    """A plain tar layer; a name ending in / is a directory."""
    with tarfile.open(path, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            if name.endswith("/"):
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    return str(path)


def paths(layer_paths: List[str]) -> List[str]:
    return [p for p, _ in scan_layers(layer_paths).items()]


def test_whiteouts_hide_lower_layers(tmp_path: Path) -> None:
    lower = layer(
        tmp_path / "1",
        [("d/", b""), ("d/a", b""), ("d/b", b""), ("gone/", b""), ("gone/x", b""), ("kept", b"")],
    )
    upper = layer(
        tmp_path / "2", [("d/", b""), ("d/.wh..wh..opq", b""), ("d/c", b""), (".wh.gone", b"")]
    )
    assert paths([lower, upper]) == ["/d", "/d/c", "/kept"]


def test_an_opaque_marker_keeps_what_its_own_layer_wrote_before_it(tmp_path: Path) -> None:
    # The spec does not require the marker to come first in the tar.
    lower = layer(tmp_path / "1", [("d/", b""), ("d/old", b"")])
    upper = layer(
        tmp_path / "2", [("d/", b""), ("d/new/", b""), ("d/new/f", b""), ("d/.wh..wh..opq", b"")]
    )
    assert paths([lower, upper]) == ["/d", "/d/new", "/d/new/f"]


def test_a_whiteout_does_not_hide_an_entry_of_its_own_layer(tmp_path: Path) -> None:
    # A directory replaced by a file: the file and the whiteout of the old directory share a
    # layer; only the lower directory and its contents go.
    lower = layer(tmp_path / "1", [("x/", b""), ("x/inner", b"")])
    upper = layer(tmp_path / "2", [("x", b"file now"), (".wh.x", b"")])
    tree = scan_layers([lower, upper])
    assert [p for p, _ in tree.items()] == ["/x"]
    node = tree.get("/x")
    assert node is not None and not node.is_dir and node.size == len(b"file now")
