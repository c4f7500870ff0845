"""Freeze `pun` with PyInstaller and write it as pun's BuildKit frontend image: one layer, no
base image, Entrypoint = the frozen executable.

This is the main of the PEX the `pun_frontend_image` target runs in Pants' sandbox; that PEX
holds PyInstaller, pun and pun's runtime packages, and the image is written by pun's own image
writer (`pun.oci.writer.write_image`, as `pun build` writes images).

1. PyInstaller, one-dir mode (a one-file bundle unpacks ~30 MB to /tmp at every start, which
   costs about a second per build), with the modules a frontend never uses left out;
2. the C libraries the bundle still needs from the system (glibc, zlib: what `ldd` resolves
   outside the bundle) are copied to their paths;
3. a smoke test runs the frozen pun (chrooted into the image's files when run as root);
4. the root filesystem becomes one deterministic layer (owner 0:0, modes 0755/0644, mtimes
   SOURCE_DATE_EPOCH) of an unnamed OCI or docker archive, written atomically.

A second run (`--from FROZEN --name ...`) writes that archive again under the image's names, so
names never take part in the (slow, cached) freeze.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from typing import Any, Dict, List, Sequence, Tuple

from pun.atomic import atomic_file
from pun.diagnostics import PunError
from pun.imagespec import ImageSpec, SetEntrypoint, SetLabel
from pun.keyvalue import parse_pairs
from pun.oci.deliver import deliver
from pun.oci.fstree import Kind, Node, path_sort_key
from pun.oci.image import BuiltImage
from pun.oci.layout import read_archive
from pun.oci.output_spec import OutputSpec
from pun.oci.writer import NewLayer, write_image
from pun.platform import parse_platform
from pun.progress import Progress
from pun.solve.content import open_new_content
from pun.solve.context import ContextDir

# Where the bundle lives in the image, and its executable: the image's Entrypoint.
BUNDLE_DIR = "usr/lib/pun"
ENTRYPOINT = "/" + BUNDLE_DIR + "/pun"

# Modules the frontend never uses but the stdlib would drag in (ssl alone costs 5 MB of
# OpenSSL; hashlib falls back to its built-in sha256), and pun's own non-frontend parts.
EXCLUDED_MODULES = (
    "ssl",
    "_ssl",
    "_hashlib",
    "_bz2",
    "_lzma",
    "_decimal",
    "_ctypes",
    "ctypes",
    "_multiprocessing",
    "multiprocessing",
    "_posixshmem",
    "tkinter",
    "unittest",
    "pydoc",
    "doctest",
    "lib2to3",
    "sqlite3",
    "xml.dom",
    "xmlrpc",
    "email",
    "http.server",
    "_codecs_cn",
    "_codecs_hk",
    "_codecs_iso2022",
    "_codecs_jp",
    "_codecs_kr",
    "_codecs_tw",
    # pun's builders, its image writer and registry client, their plumbing and the commands
    # that use them. Kept: what the frontend's initrd (pun.frontend.rootfs) runs, the build
    # context reader (pun.solve.context, with pun.solve's package and options, pun.oci.fstree
    # and pun.oci.output_spec) and pun.atomic.
    "pun.solve.buildctl",
    "pun.solve.content",
    "pun.solve.embedded",
    "pun.solve.fileops",
    "pun.solve.graph",
    "pun.solve.imagefiles",
    "pun.solve.multiplatform",
    "pun.solve.tree_files",
    "pun.solve.unpack",
    "pun.oci.archive_images",
    "pun.oci.archives",
    "pun.oci.baselayers",
    "pun.oci.buildkit_layers",
    "pun.oci.cache",
    "pun.oci.deflate",
    "pun.oci.deliver",
    "pun.oci.image",
    "pun.oci.image_index",
    "pun.oci.layers",
    "pun.oci.layout",
    "pun.oci.pull",
    "pun.oci.push",
    "pun.oci.registry",
    "pun.oci.writer",
    "pun.progress",
    "pun.cli.build",
    "pun.cli.push",
    "pun_rules",
)

ENTRY_SCRIPT = "import sys\n\nfrom pun.cli.main import main\n\nsys.exit(main())\n"


class FreezeError(Exception):
    """A step failed; the message says which and what it printed."""


# --- 1. PyInstaller ------------------------------------------------------------------------------


def run_pyinstaller(work: str) -> str:
    """Freeze `pun.cli.main:main`; returns the one-dir bundle's directory."""
    entry = os.path.join(work, "pun_entry.py")
    with open(entry, "w") as handle:
        handle.write(ENTRY_SCRIPT)
    argv = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--onedir",
        "--name",
        "pun",
        "--noconfirm",
        "--clean",
        "--strip",
        "--log-level",
        "WARN",
        "--distpath",
        os.path.join(work, "dist"),
        "--workpath",
        os.path.join(work, "build"),
        "--specpath",
        work,
        # grpc's compiled cygrpc imports pkgutil, which PyInstaller cannot see.
        "--hidden-import",
        "pkgutil",
    ]
    for module in EXCLUDED_MODULES:
        argv += ["--exclude-module", module]
    env = dict(os.environ)
    # A private cache (not ~/.cache) and a fixed hash seed, for repeatable bundles.
    env.update(PYINSTALLER_CONFIG_DIR=os.path.join(work, "config"), PYTHONHASHSEED="0")
    result = subprocess.run([*argv, entry], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise FreezeError(
            f"PyInstaller failed (exit code {result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        )
    return os.path.join(work, "dist", "pun")


# --- 2. the root filesystem ------------------------------------------------------------------


def shared_libraries(elf: str) -> List[str]:
    """The absolute paths `ldd` resolves for one ELF file (none for a static one)."""
    result = subprocess.run(["ldd", elf], capture_output=True, text=True)
    if "not a dynamic executable" in result.stdout + result.stderr:
        return []
    missing = [line.strip() for line in result.stdout.splitlines() if "not found" in line]
    if result.returncode != 0 or missing:
        raise FreezeError(
            f"ldd cannot resolve the libraries of {elf}:\n"
            + "\n".join(missing or [result.stderr.strip()])
        )
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


def smoke_test(rootfs: str) -> Dict[str, Any]:
    """Run the frozen pun twice: `--version`, and as a frontend with nobody on its pipes (which
    imports grpc & co. up to the first gRPC call). As root, chrooted into the image's root
    filesystem (with a private mount of /dev, as a container has), so a library missing from
    the image fails here; otherwise with this machine's libraries. Returns what it saw."""
    executable = "/" + BUNDLE_DIR + "/pun"
    prefix = _chroot_prefix(rootfs)
    if not prefix:
        executable = rootfs + executable
    os.makedirs(os.path.join(rootfs, "dev"))
    try:
        version = _run_frozen([*prefix, executable, "--version"], {})
        frontend = _run_frozen([*prefix, executable], {"BUILDKIT_SESSION_ID": "smoke"})
    finally:
        os.rmdir(os.path.join(rootfs, "dev"))
    if version.returncode != 0 or "pun version" not in version.stdout:
        raise FreezeError(
            f"the frozen `pun --version` failed (exit code {version.returncode}):"
            f"\n{version.stdout}{version.stderr}"
        )
    if "cannot talk to BuildKit" not in frontend.stderr:
        raise FreezeError(
            f"the frozen pun did not start as a frontend (exit code "
            f"{frontend.returncode}):\n{frontend.stdout}{frontend.stderr}"
        )
    return {"version": version.stdout.strip(), "chroot": bool(prefix)}


def _chroot_prefix(rootfs: str) -> List[str]:
    """`unshare ... chroot ROOTFS` when this process may do that, else nothing."""
    search = "/usr/sbin:/usr/bin:/sbin:/bin"
    tools = [shutil.which(name, path=search) for name in ("unshare", "mount", "chroot")]
    if os.geteuid() != 0 or not all(tools):
        return []
    unshare, mount, chroot = tools
    script = f'{mount} --rbind /dev "$1/dev" && exec {chroot} "$@"'
    return [str(unshare), "--mount", "sh", "-c", script, "sh", rootfs]


def _run_frozen(argv: List[str], env: Dict[str, str]) -> "subprocess.CompletedProcess[str]":
    # As a frontend, pun writes HTTP/2 frames to stdout: bytes, decoded leniently.
    done = subprocess.run(
        argv, env={**os.environ, **env}, stdin=subprocess.DEVNULL, capture_output=True, timeout=120
    )
    return subprocess.CompletedProcess(
        argv,
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
    )


# --- 3. the image --------------------------------------------------------------------------------


def layer_entries(rootfs: str, epoch: int) -> List[Tuple[str, Node]]:
    """Every file, directory and symlink below `rootfs` as pun build's context sees them (owner
    0:0), with modes normalised so the builder's umask cannot change the layer; /tmp keeps its
    sticky, world-writable mode."""
    root = ContextDir.open(rootfs)
    entries = []
    for path, info in root.walk("/"):
        node = root.node(path, info)
        if node.kind is Kind.DIR:
            mode = 0o1777 if path == "/tmp" else 0o755
        elif node.kind is Kind.FILE:
            mode = 0o755 if node.mode & 0o111 else 0o644
        else:
            mode = node.mode
        entries.append((path, dataclasses.replace(node, mode=mode, mtime=epoch)))
    return sorted(entries, key=lambda entry: path_sort_key(entry[0]))


def archive_output(output: str, oci: bool, names: Sequence[str] = ()) -> OutputSpec:
    """An OCI layout tar naming the image (or `docker load`'s tarball, which is one too, with
    Docker media types); layers gzipped at level 9."""
    attrs = [("dest", output), ("compression-level", "9")]
    if names:
        attrs.append(("name", ",".join(names)))
    return OutputSpec("oci" if oci else "docker", tuple(attrs))


def build_image(
    rootfs: str, work: str, output: str, labels: Dict[str, str], epoch: int, oci: bool
) -> BuiltImage:
    """The frozen pun as an unnamed image archive, written by pun's image writer."""
    entries = layer_entries(rootfs, epoch)
    host = parse_platform("linux/" + platform.machine())
    steps = (SetEntrypoint((ENTRYPOINT,), False, 0),) + tuple(
        SetLabel(key, value, 0) for key, value in sorted(labels.items())
    )
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    layer = NewLayer("pun_frontend_image: pun frozen by PyInstaller", entries)
    written = write_image(
        ImageSpec(host, None, steps),
        archive_output(output, oci),
        work,
        layers=[layer],
        open_content=open_new_content,
        epoch=epoch,
    )
    return written.image


def name_archive(frozen: str, names: Sequence[str], output: str, epoch: int) -> None:
    """Write a frozen (unnamed) archive again under `names`: the same manifest, a new index.
    Kept apart from freezing so that new tags or registries cost a copy, not a freeze."""
    scratch = tempfile.mkdtemp(prefix="name-", dir=".")
    try:
        image = read_archive(frozen, scratch)
        os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
        deliver(image, archive_output(output, image.oci, names), epoch, scratch, Progress("quiet"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def freeze(output: str, metadata: str, labels: Dict[str, str], epoch: int, oci: bool) -> None:
    work = tempfile.mkdtemp(prefix="freeze-", dir=".")
    try:
        rootfs = os.path.join(work, "rootfs")
        libraries = build_rootfs(run_pyinstaller(work), rootfs)
        smoke = smoke_test(rootfs)
        image = build_image(rootfs, work, output, labels, epoch, oci)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    with atomic_file(metadata) as sink:
        sink.write(
            json.dumps(
                {
                    "containerimage.digest": image.manifest_digest,
                    "containerimage.config.digest": image.config_digest,
                    "layer_bytes": image.layers[0].size,
                    "platform": str(image.platform),
                    "annotations": json.loads(image.manifest).get("annotations", {}),
                    "system_libraries": libraries,
                    "smoke_test": smoke,
                },
                indent=2,
                sort_keys=True,
            ).encode()
            + b"\n"
        )


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="freeze_frontend", description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", required=True, help="the archive to write")
    parser.add_argument("--format", choices=("oci", "docker"), default="oci")
    parser.add_argument("--metadata", help="freeze: a JSON file of digests and sizes")
    parser.add_argument("--label", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--from",
        dest="frozen",
        metavar="ARCHIVE",
        help="name: write this frozen archive again, naming it with --name",
    )
    parser.add_argument("--name", action="append", default=[], help="an image name, for the index")
    args = parser.parse_args(argv)
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    # The PEX's launcher sets PATH from Pants' [pex] options; the tools PyInstaller runs (ldd,
    # objdump, strip) must be the ones the rule found and fingerprinted.
    if os.environ.get("PUN_FREEZE_PATH"):
        os.environ["PATH"] = os.environ["PUN_FREEZE_PATH"]
    try:
        if args.frozen:
            name_archive(args.frozen, args.name, args.output, epoch)
        elif args.metadata:
            labels = parse_pairs(args.label, "--label")
            freeze(args.output, args.metadata, labels, epoch, args.format == "oci")
        else:
            parser.error("give --metadata (freeze) or --from (name a frozen archive)")
    except (FreezeError, PunError) as exc:
        print(f"pun_frontend_image: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
