"""Build small images and run `pun run` on them as a separate process (its monitor writes the
guest's console straight to the inherited stdout)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

from pun_testing.building import pun_build


def build_image(context: Path, containerfile: str, cache: Path) -> Path:
    (context / "Containerfile").write_text(containerfile)
    archive = context / "image.oci.tar"
    done = pun_build(
        ["--context", str(context), "-o", f"type=oci,dest={archive}", "--progress=quiet"], cache
    )
    assert done.code == 0, done.err
    return archive


def pun_run(
    argv: List[str], env: Optional[Dict[str, str]] = None, timeout: float = 180
) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "pun.cli.main", "run", *argv],
        capture_output=True,
        env=environment,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def fake_monitor(directory: Path, name: str) -> Path:
    """A stand-in monitor that records its argv (one per line) and exits 0."""
    directory.mkdir(parents=True, exist_ok=True)
    record = directory / f"{name}.argv"
    script = directory / name
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$0" "$@" > "{record}"\necho fake-guest-output\n')
    script.chmod(0o755)
    return record


def strip_urunc_settings(archive: Path, dest: Path) -> Path:
    """A copy of an OCI archive without config Labels or manifest annotations, so that urunc
    (and `pun run`) can only find the settings in /urunc.json: what urunc 0.5 sees under ctr,
    or any image whose store dropped both."""
    import hashlib
    import io
    import tarfile

    with tarfile.open(archive) as tar:
        members = {}
        for member in tar.getmembers():
            handle = tar.extractfile(member) if member.isfile() else None
            if handle is not None:
                members[member.name] = handle.read()

    def blob(digest: str) -> str:
        return "blobs/sha256/" + digest.split(":", 1)[1]

    def put(data: bytes) -> Dict[str, object]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        members[blob(digest)] = data
        return {"digest": digest, "size": len(data)}

    index = json.loads(members["index.json"])
    manifest_desc = index["manifests"][0]
    manifest = json.loads(members[blob(manifest_desc["digest"])])
    config = json.loads(members[blob(manifest["config"]["digest"])])
    config.get("config", {}).pop("Labels", None)
    manifest.pop("annotations", None)
    manifest["config"].update(put(json.dumps(config).encode()))
    manifest_desc.update(put(json.dumps(manifest).encode()))
    manifest_desc.pop("annotations", None)
    members["index.json"] = json.dumps(index).encode()
    with tarfile.open(dest, "w") as out:
        for name, data in sorted(members.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    return dest


def image_env(archive: Path) -> List[str]:
    """The image config's Env, read straight from the archive (independently of pun run)."""
    import tarfile

    with tarfile.open(archive) as tar:

        def read(digest: str) -> Any:
            name = digest if digest == "index.json" else "blobs/sha256/" + digest.split(":")[1]
            handle = tar.extractfile(name)
            assert handle is not None
            return json.loads(handle.read())

        manifest = read(read("index.json")["manifests"][0]["digest"])
        config = read(manifest["config"]["digest"])
    return list(config.get("config", {}).get("Env") or [])
