"""Root filesystems as comparable values, and the real builders that make them (oracles).

`tree(dir)` describes every entry by path, type, mode, owner, content digest and link target
(timestamps aside), so two builders' `type=local` outputs compare with `==` and a difference
prints as a readable diff. The oracles: BuildKit's own Dockerfile frontend through a real
buildkitd (`buildctl --frontend dockerfile.v0`), Docker Engine's (`docker build`), and a real
BuildKit solving pun's raw LLB.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import tarfile
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from pun_testing.buildkit import require_buildkit
from pun_testing.tools import DOCKER, docker_env, require_docker, run

Entry = Tuple[str, str, str, int, int, str]  # path, kind, mode (octal), uid, gid, content|link


def tree(root: Path, skip: Iterable[str] = ("urunc.json",)) -> List[Entry]:
    skipped = set(skip)
    entries: List[Entry] = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            relative = str(path.relative_to(root))
            if relative in skipped:
                continue
            st = os.lstat(path)
            mode = format(stat.S_IMODE(st.st_mode), "04o")
            if stat.S_ISDIR(st.st_mode):
                kind, what = "dir", ""
            elif stat.S_ISLNK(st.st_mode):
                kind, what, mode = "link", os.readlink(path), ""
            else:
                kind, what = "file", hashlib.sha256(path.read_bytes()).hexdigest()[:16]
            entries.append((relative, kind, mode, st.st_uid, st.st_gid, what))
    return sorted(entries)


def tree_of_tar(archive: Path, skip: Iterable[str] = ("urunc.json",)) -> List[Entry]:
    """The same description read from a `type=tar` export (which keeps owners, unlike
    buildctl's `type=local`, which writes every file as the client's user)."""
    skipped = set(skip)
    entries: Dict[str, Entry] = {}
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            name = member.name
            while name.startswith("./"):
                name = name[2:]
            name = name.strip("/")
            if not name or name in skipped:
                continue
            mode = format(member.mode & 0o7777, "04o")
            if member.isdir():
                kind, what = "dir", ""
            elif member.issym():
                kind, what, mode = "link", member.linkname, ""
            elif member.isfile():
                data = tar.extractfile(member)
                assert data is not None
                kind, what = "file", hashlib.sha256(data.read()).hexdigest()[:16]
            else:
                kind, what = "other", str(member.type)
            entries[name] = (name, kind, mode, member.uid, member.gid, what)
    return sorted(entries.values())


def write_context(root: Path, files: Mapping[str, Optional[str]]) -> Path:
    """Files (value: text), directories (key ending in `/`), symlinks (value `-> target`)."""
    root.mkdir(parents=True, exist_ok=True)
    for name, value in files.items():
        path = root / name.rstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith("/"):
            path.mkdir(exist_ok=True)
        elif value is not None and value.startswith("-> "):
            os.symlink(value[3:], path)
        else:
            path.write_text(value or "")
    for dirpath, dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            if not os.path.islink(os.path.join(dirpath, name)):
                os.chmod(os.path.join(dirpath, name), 0o644)
    return root


def buildkit_dockerfile(context: Path, dest: Path, containerfile: str = "Containerfile") -> None:
    """BuildKit's own Dockerfile frontend (no #syntax line), `type=tar` to file `dest`."""
    path = context / containerfile
    run(
        [
            *require_buildkit().argv("build"),
            "--progress=plain",
            "--frontend",
            "dockerfile.v0",
            "--local",
            f"context={context}",
            "--local",
            f"dockerfile={path.parent}",
            "--opt",
            f"filename={path.name}",
            "--output",
            f"type=tar,dest={dest}",
        ]
    )


def buildkit_llb(definition: bytes, context: Path, dest: Path) -> None:
    """A real BuildKit solving raw LLB (what `pun --LLB | buildctl build` does), `type=tar`."""
    done = subprocess.run(
        [
            *require_buildkit().argv("build"),
            "--progress=plain",
            "--local",
            f"context={context}",
            "--output",
            f"type=tar,dest={dest}",
        ],
        input=definition,
        capture_output=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"buildctl failed:\n{done.stderr.decode()}")


def docker_build(
    context: Path, dest: Path, containerfile: str = "Containerfile", build_args: Sequence[str] = ()
) -> None:
    """Docker Engine's builtin BuildKit and Dockerfile frontend, `--output type=tar`
    (`build_args`: more `docker build` arguments, e.g. `--build-arg K=V`)."""
    require_docker()
    run(
        [
            DOCKER,
            "build",
            "--progress=plain",
            *build_args,
            "-f",
            str(context / containerfile),
            "--output",
            f"type=tar,dest={dest}",
            str(context),
        ],
        env=docker_env(),
    )


def differences(expected: List[Entry], actual: List[Entry]) -> Dict[str, List[Entry]]:
    return {
        "only in oracle": sorted(set(expected) - set(actual)),
        "only in pun": sorted(set(actual) - set(expected)),
    }
