"""A stand-in for `buildctl build` (raw LLB on stdin) that answers as BuildKit v0.32.2 does, for
the tests that must also run without a BuildKit.

What it copies from the real one (each checked against buildkitd v0.32.2 by hand):
- `--output` attribute keys are lower-cased (`cmd/buildctl/build/output.go`), so
  `annotation-manifest.com.urunc.unikernel.unikernelType` arrives as `...unikerneltype`;
- `type=oci` writes an OCI layout tar whose config, in raw-LLB mode, holds only `Env` and
  `WorkingDir` (no Labels), whose history says `buildkit.exporter.image.v0` (base layers:
  `pulled from REF`), whose layer descriptors carry `buildkit/rewritten-timestamp` and whose
  index entry carries `org.opencontainers.image.created`;
- `type=local` writes the root filesystem into the destination it is given, every entry owned
  by the caller (not by the image's owners).
The layers themselves are solved by pun's embedded builder (BuildKit's would differ only in
tar bytes). It records its argv and stdin under $FAKE_BUILDCTL_RECORD; $FAKE_BUILDCTL_MODE
`unreachable` / `fail` make it fail like a missing daemon / a failed solve, after writing a
partial output.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any, Dict, List

RAW_LLB_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
WRAPPER = """#!{python}
import sys
sys.path[:0] = {path!r}
from pun_testing.fake_buildctl import main
sys.exit(main(sys.argv[1:]))
"""


def install(bin_dir: Path) -> Path:
    """Write `bin_dir/buildctl`, running this module with the test's own interpreter/path."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "buildctl"
    script.write_text(WRAPPER.format(python=sys.executable, path=list(sys.path)))
    script.chmod(0o755)
    return script


def _output_attrs(spec: str) -> Dict[str, str]:
    fields = next(csv.reader([spec]))
    attrs = {}
    for field in fields:
        key, _, value = field.partition("=")
        attrs[key.strip().lower()] = value  # as buildctl does
    return attrs


def _flag(argv: List[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def main(argv: List[str]) -> int:
    stdin = sys.stdin.buffer.read()
    record = os.environ.get("FAKE_BUILDCTL_RECORD")
    if record:
        Path(record, "argv.json").write_text(json.dumps(argv))
        Path(record, "stdin.bin").write_bytes(stdin)
    attrs = _output_attrs(_flag(argv, "--output"))
    dest = attrs.get("dest", "")
    mode = os.environ.get("FAKE_BUILDCTL_MODE", "ok")
    if mode != "ok":
        if attrs.get("type") == "local":
            Path(dest, "partial").write_text("x")
        elif dest:
            Path(dest).write_bytes(b"partial")
        if mode == "unreachable":
            sys.stderr.write(
                "error: failed to dial gRPC: cannot connect to the Docker daemon... "
                "dial tcp 127.0.0.1:1234: connect: connection refused\n"
            )
        else:
            sys.stderr.write("error: failed to solve: process did not complete successfully\n")
        return 1
    context = next(a for a in argv if a.startswith("context="))[len("context=") :]
    epoch = next(
        int(a.split("=", 1)[1]) for a in argv if a.startswith("build-arg:SOURCE_DATE_EPOCH=")
    )
    sys.stderr.write("#1 [internal] load build context\n")
    if attrs.get("type") == "local":
        _local(stdin, context, dest, epoch)
        return 0
    if attrs.get("type") != "oci":
        sys.stderr.write(f"fake buildctl: type={attrs.get('type')} is not faked\n")
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        plain = os.path.join(scratch, "plain.tar")
        _embedded(stdin, context, f"type=oci,dest={plain}", epoch)
        _reshape(plain, dest, attrs, epoch)
    return 0


def _local(definition: bytes, context: str, dest: str, epoch: int) -> None:
    """Fill the existing `dest` as BuildKit's client does: the destination keeps its own mode,
    and every entry is owned by the caller (session/filesync/diffcopy.go syncTargetDiffCopy
    sets Uid/Gid to os.Getuid()/os.Getgid())."""
    staging = tempfile.mkdtemp(dir=os.path.dirname(os.path.abspath(dest)), prefix=".fake-local.")
    rootfs = os.path.join(staging, "rootfs")
    _embedded(definition, context, f"type=local,dest={rootfs}", epoch)
    for name in os.listdir(rootfs):
        os.rename(os.path.join(rootfs, name), os.path.join(dest, name))
    os.rmdir(rootfs)
    os.rmdir(staging)
    for dirpath, dirnames, filenames in os.walk(dest):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), os.getuid(), os.getgid())


def _embedded(definition: bytes, context: str, output: str, epoch: int) -> None:
    from pun.imagespec import ImageSpec
    from pun.solve import BuildOptions, build

    build(
        definition,
        context,
        ImageSpec.from_labels({}),
        output,
        "embedded",
        BuildOptions(source_date_epoch=epoch, progress="quiet"),
    )


def _reshape(plain: str, dest: str, attrs: Dict[str, str], epoch: int) -> None:
    """pun's OCI archive -> the archive BuildKit's oci exporter writes for raw LLB."""
    with tarfile.open(plain) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore
    blob = lambda digest: members["blobs/" + digest.replace(":", "/")]  # noqa: E731
    index = json.loads(members["index.json"])
    manifest = json.loads(blob(index["manifests"][0]["digest"]))
    config = json.loads(blob(manifest["config"]["digest"]))
    created = config["created"]
    history = [
        {"created": created, "created_by": h["created_by"], "comment": "buildkit.exporter.image.v0"}
        for h in config["history"]
    ]
    raw_config = {
        "architecture": config["architecture"],
        "os": config["os"],
        "config": {"Env": RAW_LLB_ENV, "WorkingDir": "/"},
        "created": created,
        "history": history,
        "rootfs": config["rootfs"],
    }
    out: Dict[str, bytes] = {"oci-layout": members["oci-layout"]}
    config_bytes = json.dumps(raw_config).encode()
    for layer in manifest["layers"]:
        out["blobs/" + layer["digest"].replace(":", "/")] = blob(layer["digest"])
        layer["annotations"] = {"buildkit/rewritten-timestamp": str(epoch)}
    manifest["config"] = _put(out, config_bytes, manifest["config"]["mediaType"])
    prefix = "annotation-manifest."
    annotations = {k[len(prefix) :]: v for k, v in attrs.items() if k.startswith(prefix)}
    if annotations:
        manifest["annotations"] = annotations
    else:
        manifest.pop("annotations", None)
    descriptor = _put(out, json.dumps(manifest, indent=2).encode(), manifest["mediaType"])
    descriptor["annotations"] = {"org.opencontainers.image.created": created}
    descriptor["platform"] = {"architecture": config["architecture"], "os": config["os"]}
    out["index.json"] = json.dumps(
        {"schemaVersion": 2, "mediaType": index["mediaType"], "manifests": [descriptor]}
    ).encode()
    with open(dest, "wb") as sink, tarfile.open(fileobj=sink, mode="w") as tar:
        for name, data in sorted(out.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _put(out: Dict[str, bytes], data: bytes, media_type: str) -> Dict[str, Any]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    out["blobs/" + digest.replace(":", "/")] = data
    return {"mediaType": media_type, "digest": digest, "size": len(data)}
