"""Freeze `pun` with PyInstaller and write it as pun's BuildKit frontend image: a one-layer OCI
image archive, no base image, Entrypoint = the frozen executable.

This is the main of the PEX the `pun_frontend_image` target runs in Pants' sandbox; that PEX
holds PyInstaller, pun and pun's runtime packages. Only the standard library is imported here.

1. PyInstaller, one-dir mode (a one-file bundle unpacks ~30 MB to /tmp at every start, which
   costs about a second per build), with the modules a frontend never uses left out;
2. the C libraries the bundle still needs from the system (glibc, zlib: what `ldd` resolves
   outside the bundle) are copied to their paths;
3. a smoke test runs the frozen `pun --version`;
4. the root filesystem becomes a deterministic archive: entries sorted, owner 0:0 without
   names, mtimes SOURCE_DATE_EPOCH, gzip without a name or a time, written atomically.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import hashlib
import io
import json
import os
import platform
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from typing import Dict, List, Sequence

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}

# Where the bundle lives in the image, and its executable: the image's Entrypoint.
BUNDLE_DIR = "usr/lib/pun"
ENTRYPOINT = "/" + BUNDLE_DIR + "/pun"

# Modules the frontend never uses but the stdlib would drag in (ssl alone costs 5 MB of
# OpenSSL; hashlib falls back to its built-in sha256), and pun's own non-frontend parts.
EXCLUDED_MODULES = (
    "ssl", "_ssl", "_hashlib", "_bz2", "_lzma", "_decimal", "_ctypes", "ctypes",
    "_multiprocessing", "multiprocessing", "_posixshmem", "tkinter", "unittest", "pydoc",
    "doctest", "lib2to3", "sqlite3", "xml.dom", "xmlrpc", "email", "http.server",
    "_codecs_cn", "_codecs_hk", "_codecs_iso2022", "_codecs_jp", "_codecs_kr", "_codecs_tw",
    "pun.solve", "pun_rules",
)

ENTRY_SCRIPT = "import sys\n\nfrom pun.cli import main\n\nsys.exit(main())\n"


class FreezeError(Exception):
    """A step failed; the message says which and what it printed."""


@dataclass(frozen=True)
class Blob:
    digest: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


def blob(data: bytes) -> Blob:
    return Blob("sha256:" + hashlib.sha256(data).hexdigest(), data)


def canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")


# --- 1. PyInstaller ------------------------------------------------------------------------------


def run_pyinstaller(work: str) -> str:
    """Freeze `pun.cli:main`; returns the one-dir bundle's directory."""
    entry = os.path.join(work, "pun_entry.py")
    with open(entry, "w") as handle:
        handle.write(ENTRY_SCRIPT)
    argv = [
        sys.executable, "-m", "PyInstaller", "--onedir", "--name", "pun", "--noconfirm",
        "--clean", "--strip", "--log-level", "WARN",
        "--distpath", os.path.join(work, "dist"), "--workpath", os.path.join(work, "build"),
        "--specpath", work,
        # grpc's compiled cygrpc imports pkgutil, which PyInstaller cannot see.
        "--hidden-import", "pkgutil",
    ]
    for module in EXCLUDED_MODULES:
        argv += ["--exclude-module", module]
    env = dict(os.environ)
    # A private cache (not ~/.cache) and a fixed hash seed, for repeatable bundles.
    env.update(PYINSTALLER_CONFIG_DIR=os.path.join(work, "config"), PYTHONHASHSEED="0")
    result = subprocess.run([*argv, entry], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise FreezeError(f"PyInstaller failed (exit code {result.returncode}):\n"
                          f"{result.stdout}{result.stderr}")
    return os.path.join(work, "dist", "pun")


# --- 2. the root filesystem ------------------------------------------------------------------


def shared_libraries(elf: str) -> List[str]:
    """The absolute paths `ldd` resolves for one ELF file (none for a static one)."""
    result = subprocess.run(["ldd", elf], capture_output=True, text=True)
    found = []
    for line in result.stdout.splitlines():
        for word in line.split():
            if word.startswith("/"):
                found.append(word)
    return found


def build_rootfs(bundle: str, rootfs: str) -> List[str]:
    """Bundle + the system libraries it needs + a writable /tmp; returns the libraries copied.

    The bootloader links against the system's libraries before PyInstaller's own search path
    applies, and glibc itself is never bundled, so whatever ldd resolves outside the bundle is
    copied to the same path in the image.
    """
    target = os.path.join(rootfs, BUNDLE_DIR)
    shutil.copytree(bundle, target, symlinks=True)
    tmp = os.path.join(rootfs, "tmp")
    os.makedirs(tmp)
    os.chmod(tmp, 0o1777)  # Python's tempfile (the gRPC relay's socket) wants a writable /tmp
    internal = os.path.join(target, "_internal")
    libraries = []
    for directory, _, files in os.walk(internal):
        libraries += [os.path.join(directory, f) for f in sorted(files) if ".so" in f]
    bundled = {os.path.basename(path) for path in libraries}
    # The executable (the bootloader) is loaded before the bundle's directory is searched: all
    # of its libraries come from the system. The bundle's own libraries find their siblings.
    needed = set(shared_libraries(os.path.join(target, "pun")))
    for path in libraries:
        if not os.path.islink(path):
            needed.update(
                lib for lib in shared_libraries(path) if os.path.basename(lib) not in bundled
            )
    for lib in sorted(needed):
        destination = rootfs + lib
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        shutil.copy2(os.path.realpath(lib), destination)
    return sorted(needed)


def smoke_test(rootfs: str) -> str:
    """The frozen `pun --version` must run (with this machine's libraries); returns its output."""
    executable = os.path.join(rootfs, BUNDLE_DIR, "pun")
    result = subprocess.run([executable, "--version"], capture_output=True, text=True)
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0 or "pun version" not in output:
        raise FreezeError(f"the frozen pun does not run (exit code {result.returncode}):\n"
                          f"{output}")
    return output


# --- 3. the image --------------------------------------------------------------------------------


def _walk(root: str) -> List[str]:
    found: List[str] = []
    for directory, dirs, files in os.walk(root):
        relative_dir = os.path.relpath(directory, root)
        for name in dirs + files:
            relative = os.path.normpath(os.path.join(relative_dir, name))
            mode = os.lstat(os.path.join(root, relative)).st_mode
            if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
                raise FreezeError(f"unsupported file type in the root filesystem: {relative}")
            found.append(relative)
    return sorted(found)


def layer_tar(rootfs: str, epoch: int) -> bytes:
    """The root filesystem as an uncompressed tar, in a stable order, owned by root."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for relative in _walk(rootfs):
            path = os.path.join(rootfs, relative)
            info = tar.gettarinfo(path, arcname=relative)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = epoch
            if info.isreg():
                with open(path, "rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
    return out.getvalue()


def gzipped(data: bytes) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return out.getvalue()


def rfc3339(epoch: int) -> str:
    moment = datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def image_blobs(rootfs: str, entrypoint: Sequence[str], labels: Dict[str, str],
                epoch: int) -> Dict[str, Blob]:
    tar = layer_tar(rootfs, epoch)
    layer = blob(gzipped(tar))
    created = rfc3339(epoch)
    config = blob(canonical({
        "architecture": _ARCH.get(platform.machine(), platform.machine()),
        "os": "linux",
        "created": created,
        "config": {"Entrypoint": list(entrypoint), "WorkingDir": "/", "Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": [blob(tar).digest]},
        "history": [{"created": created, "created_by": "pun_frontend_image (PyInstaller)"}],
    }))
    manifest = blob(canonical({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config.digest, "size": config.size},
        "layers": [{"mediaType": OCI_LAYER, "digest": layer.digest, "size": layer.size}],
    }))
    return {"manifest": manifest, "config": config, "layer": layer}


def write_archive(output: str, blobs: Dict[str, Blob], epoch: int) -> None:
    """An `oci-archive`: the OCI image layout as a tar, replaced atomically."""
    manifest = blobs["manifest"]
    index = canonical({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": manifest.digest,
                       "size": manifest.size}],
    })
    entries = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}', "index.json": index}
    for item in blobs.values():
        entries["blobs/sha256/" + item.digest.split(":", 1)[1]] = item.data
    directory = os.path.dirname(os.path.abspath(output))
    os.makedirs(directory, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=directory, delete=False) as handle:
        with tarfile.open(fileobj=handle, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name in ("blobs/", "blobs/sha256/"):
                info = tarfile.TarInfo(name)
                info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, epoch
                tar.addfile(info)
            for name in sorted(entries):
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(entries[name]), 0o644, epoch
                tar.addfile(info, io.BytesIO(entries[name]))
    os.chmod(handle.name, 0o644)
    os.replace(handle.name, output)  # never leave a half-written archive behind


def write_json(path: str, value: object) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    with tempfile.NamedTemporaryFile("w", dir=directory, delete=False) as handle:
        json.dump(value, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.replace(handle.name, path)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="freeze_frontend", description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", required=True, help="the OCI archive to write")
    parser.add_argument("--metadata", required=True, help="a JSON file: digests and sizes")
    parser.add_argument("--label", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    labels = dict(label.split("=", 1) for label in args.label)
    work = tempfile.mkdtemp(prefix="freeze-", dir=".")
    try:
        rootfs = os.path.join(work, "rootfs")
        libraries = build_rootfs(run_pyinstaller(work), rootfs)
        version = smoke_test(rootfs)
        blobs = image_blobs(rootfs, [ENTRYPOINT], labels, epoch)
        write_archive(args.output, blobs, epoch)
    except FreezeError as exc:
        print(f"pun_frontend_image: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_json(args.metadata, {
        "containerimage.digest": blobs["manifest"].digest,
        "containerimage.config.digest": blobs["config"].digest,
        "layer_bytes": blobs["layer"].size,
        "system_libraries": libraries,
        "smoke_test": version,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
