"""Root filesystems in tests: the fixtures' listing format (`./path mode sha256-prefix`,
directories `./dir/ mode`), and an image archive's rootfs as skopeo + umoci unpack it."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path
from typing import List

from pun_testing.tools import require, run


def listing(root: Path) -> List[str]:
    """One line per entry below `root` (not root itself), sorted like the recorded listings."""
    lines = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            relative = "./" + str(path.relative_to(root))
            st = os.lstat(path)
            mode = format(stat.S_IMODE(st.st_mode), "o")
            if stat.S_ISDIR(st.st_mode):
                lines.append(f"{relative}/ {mode}")
            elif stat.S_ISLNK(st.st_mode):
                lines.append(f"{relative} -> {os.readlink(path)}")
            else:
                lines.append(f"{relative} {mode} {sha256_prefix(path)}")
    return sorted(lines)


def sha256_prefix(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def writable_copy(case: Path, dest: Path) -> Path:
    """Copy a fixture case to a writable place and give it the modes it was recorded with (files
    644, folders 755): a checkout's modes follow the umask (and Pants' sandbox may differ), but
    the expected listings were made from 644/755 files, and COPY preserves modes."""
    shutil.copytree(case, dest)
    for dirpath, _, filenames in os.walk(dest):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(Path(dirpath) / name, 0o644)
    return dest


def umoci_rootfs(archive: Path, work: Path, rootless: bool = False) -> Path:
    """The root filesystem of an OCI archive as independent tools read it: `skopeo copy` into
    an OCI layout, then `umoci unpack` (`--rootless`: owned by the caller, owners not kept)."""
    skopeo, umoci = require("skopeo"), require("umoci")
    work.mkdir(parents=True, exist_ok=True)
    layout = work / "layout"
    run([skopeo, "copy", "--quiet", f"oci-archive:{archive}", f"oci:{layout}:x"])
    flags = ["--rootless"] if rootless else []
    run([umoci, "unpack", *flags, "--image", f"{layout}:x", str(work / "bundle")])
    return work / "bundle" / "rootfs"
