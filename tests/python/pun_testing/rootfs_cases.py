"""Shared inputs for the rootfs tests: a context of files, and a request over it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Tuple

from pun.containerfile.plan import RootfsInclude, RootfsRequest

# path in the context -> (bytes, executable)
FILES: Dict[str, Tuple[bytes, bool]] = {
    "init": (b"#!/bin/sh\necho hello from the rootfs\n", True),
    "conf/app.conf": (b"answer = 42\n", False),
    "conf/sub/deep.txt": (b"deep\n" * 1000, False),
    "big.bin": (bytes(range(256)) * 12289, False),  # ~3 MiB, not block aligned
    "name with space": (b"spaces\n", False),
}
LINKS = {"conf/link": "app.conf"}


def write_context(root: Path, mtime: int, umask_bits: int = 0) -> Path:
    """The context, with every mtime `mtime` and modes that differ by `umask_bits` (group and
    other bits only, which the rootfs rule ignores)."""
    for name, (data, executable) in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod((0o755 if executable else 0o644) & ~umask_bits)
    for name, target in LINKS.items():
        os.symlink(target, root / name)
    for path in sorted(root.rglob("*"), reverse=True):
        os.utime(path, (mtime, mtime), follow_symlinks=False)
    return root


def request(kind: str, **extra: object) -> RootfsRequest:
    includes = (
        RootfsInclude("init", "/init", 1),
        RootfsInclude("conf", "/etc/app", 2),
        RootfsInclude("big.bin", "/data/", 3),
        RootfsInclude("name with space", "/srv/name with space", 4),
    )
    return RootfsRequest(kind, "/rootfs.img", includes, 5, **extra)  # type: ignore[arg-type]


# What the rootfs holds for request(): path -> (kind, mode, content or link target)
EXPECTED = {
    "/data": ("dir", 0o755, None),
    "/data/big.bin": ("file", 0o644, FILES["big.bin"][0]),
    "/etc": ("dir", 0o755, None),
    "/etc/app": ("dir", 0o755, None),
    "/etc/app/app.conf": ("file", 0o644, FILES["conf/app.conf"][0]),
    "/etc/app/link": ("symlink", 0o777, b"app.conf"),
    "/etc/app/sub": ("dir", 0o755, None),
    "/etc/app/sub/deep.txt": ("file", 0o644, FILES["conf/sub/deep.txt"][0]),
    "/init": ("file", 0o755, FILES["init"][0]),
    "/srv": ("dir", 0o755, None),
    "/srv/name with space": ("file", 0o644, FILES["name with space"][0]),
}
