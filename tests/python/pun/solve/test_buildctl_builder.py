"""The buildctl builder: the exact command line and stdin it hands to buildctl, and how it fails.

A fake `buildctl` on PATH records what it was given (a real buildctl cannot be installed here);
the last test runs the real one when BUILDCTL and BUILDKIT_HOST point at a BuildKit.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Dict, List, Optional

import pytest
from pun.api import GenerateOptions, generate
from pun.imagespec import ImageSpec
from pun.solve import BuildOptions, build
from pun_testing.building import environment, pun_build
from pun_testing.rootfs import writable_copy
from pun_testing.shared import CASES
from pun_testing.tools import require, run

FAKE = """#!{python}
import json, os, sys
record = os.environ["FAKE_BUILDCTL_RECORD"]
argv = sys.argv[1:]
stdin = sys.stdin.buffer.read()
with open(os.path.join(record, "argv.json"), "w") as f:
    json.dump(argv, f)
with open(os.path.join(record, "stdin.bin"), "wb") as f:
    f.write(stdin)
spec = argv[argv.index("--output") + 1]
dest = next((p[5:] for p in spec.split(",") if p.startswith("dest=")), None)
mode = os.environ.get("FAKE_BUILDCTL_MODE", "ok")
if dest and spec.startswith("type=local"):
    open(os.path.join(dest, "partial" if mode != "ok" else "file"), "w").write("x")
elif dest:
    open(dest, "wb").write(b"partial" if mode != "ok" else b"ARCHIVE")
if mode == "unreachable":
    sys.stderr.write('error: failed to dial gRPC: cannot connect to the Docker daemon... '
                     'dial tcp 127.0.0.1:1234: connect: connection refused\\n')
    sys.exit(1)
if mode == "fail":
    sys.stderr.write("error: failed to solve: process did not complete successfully\\n")
    sys.exit(1)
with open(argv[argv.index("--metadata-file") + 1], "w") as f:
    json.dump({{"containerimage.digest": "sha256:" + "1" * 64}}, f)
sys.stderr.write("#1 [internal] load build context\\n")
"""

ADDR = "tcp://127.0.0.1:1234"
LABELS = {
    "com.urunc.unikernel.binary": "/unikernel/test-redis.hvt",
    "com.urunc.unikernel.cmdline": "redis-server /data/conf/redis.conf",
    "com.urunc.unikernel.hypervisor": "hvt",
    "com.urunc.unikernel.unikernelType": "rumprun",
}


@pytest.fixture
def fake_buildctl(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "buildctl"
    script.write_text(FAKE.format(python=sys.executable))
    script.chmod(0o755)
    record = tmp_path / "record"
    record.mkdir()
    return record


def env_for(record: Path, mode: str = "ok", host: Optional[str] = ADDR) -> Dict[str, Optional[str]]:
    return {
        "PATH": f"{record.parent / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "FAKE_BUILDCTL_RECORD": str(record),
        "FAKE_BUILDCTL_MODE": mode,
        "BUILDKIT_HOST": host,
        "BUILDCTL": None,
    }


def recorded_argv(record: Path) -> List[str]:
    return json.loads((record / "argv.json").read_text())


def context(tmp_path: Path) -> Path:
    return writable_copy(CASES / "rumprun-redis", tmp_path / "ctx")


def test_exact_argv_with_annotations_and_reproducibility(
    tmp_path: Path, fake_buildctl: Path
) -> None:
    ctx = context(tmp_path)
    dest = tmp_path / "image.tar"
    result = pun_build(
        [
            "--context",
            str(ctx),
            "--output",
            f"type=oci,dest={dest}",
            "--progress",
            "plain",
            "--source-date-epoch",
            "1700000000",
            "--metadata-file",
            "-",
        ],
        tmp_path / "cache",
        env_for(fake_buildctl),
    )
    assert result.code == 0, result.err
    argv = recorded_argv(fake_buildctl)
    output = argv[argv.index("--output") + 1]
    metadata_file = argv[argv.index("--metadata-file") + 1]
    temporary = output.split(",")[1][len("dest=") :]
    assert argv == [
        "--addr",
        ADDR,
        "build",
        "--progress",
        "plain",
        "--local",
        f"context={ctx}",
        "--output",
        output,
        "--opt",
        "build-arg:SOURCE_DATE_EPOCH=1700000000",
        "--metadata-file",
        metadata_file,
    ]
    annotations = ",".join(f"annotation-manifest.{k}={v}" for k, v in sorted(LABELS.items()))
    assert output == f"type=oci,dest={temporary},rewrite-timestamp=true,{annotations}"
    assert Path(temporary).parent == tmp_path and not Path(temporary).exists()
    assert dest.read_bytes() == b"ARCHIVE"
    assert json.loads(result.out)["containerimage.digest"] == "sha256:" + "1" * 64
    assert json.loads(result.out)["pun.builder"] == "buildctl"
    assert "#1 [internal] load build context" in result.err  # buildctl's progress, on stderr


def test_stdin_is_exactly_the_definition(tmp_path: Path, fake_buildctl: Path) -> None:
    ctx = context(tmp_path)
    definition = generate((ctx / "Containerfile").read_text(), GenerateOptions()).definition
    with environment(env_for(fake_buildctl)):
        build(
            definition,
            str(ctx),
            ImageSpec.from_labels(LABELS),
            "type=image,name=r.test/a:1,push=true",
            builder="buildctl",
            options=BuildOptions(buildkit_addr=ADDR, progress="quiet"),
        )
    assert (fake_buildctl / "stdin.bin").read_bytes() == definition
    output = recorded_argv(fake_buildctl)[recorded_argv(fake_buildctl).index("--output") + 1]
    assert output.startswith("type=image,name=r.test/a:1,push=true,rewrite-timestamp=true,")


def test_quoting_of_labels_with_commas(tmp_path: Path, fake_buildctl: Path) -> None:
    ctx = context(tmp_path)
    definition = generate("FROM scratch\n", GenerateOptions()).definition
    with environment(env_for(fake_buildctl)):
        build(
            definition,
            str(ctx),
            ImageSpec.from_labels({"k": 'a,b "c"'}),
            "type=image,name=r.test/a,push=true",
            builder="buildctl",
            options=BuildOptions(progress="quiet"),
        )
    output = recorded_argv(fake_buildctl)[recorded_argv(fake_buildctl).index("--output") + 1]
    assert output.endswith(',"annotation-manifest.k=a,b ""c"""')


def test_local_output_goes_through_a_temporary_directory(
    tmp_path: Path, fake_buildctl: Path
) -> None:
    dest = tmp_path / "rootfs"
    result = pun_build(
        ["--context", str(context(tmp_path)), "--output", f"type=local,dest={dest}"],
        tmp_path / "cache",
        env_for(fake_buildctl),
    )
    assert result.code == 0, result.err
    output = recorded_argv(fake_buildctl)[recorded_argv(fake_buildctl).index("--output") + 1]
    assert "rewrite-timestamp" not in output and "annotation" not in output
    assert sorted(os.listdir(dest)) == ["file"]


def test_buildkit_host_selects_buildctl_by_default(tmp_path: Path, fake_buildctl: Path) -> None:
    result = pun_build(
        ["--context", str(context(tmp_path)), "--output", f"type=oci,dest={tmp_path / 'x'}"],
        tmp_path / "cache",
        env_for(fake_buildctl, host="unix:///tmp/bk.sock"),
    )
    assert result.code == 0, result.err
    assert recorded_argv(fake_buildctl)[:2] == ["--addr", "unix:///tmp/bk.sock"]


def test_unreachable_daemon_is_one_clear_error_and_no_output(
    tmp_path: Path, fake_buildctl: Path
) -> None:
    dest = tmp_path / "image.tar"
    result = pun_build(
        ["--context", str(context(tmp_path)), "--output", f"type=oci,dest={dest}"],
        tmp_path / "cache",
        env_for(fake_buildctl, mode="unreachable"),
    )
    assert result.code == 1
    errors = [line for line in result.err.splitlines() if ": error: " in line]
    assert len(errors) == 1 and f"cannot reach BuildKit at {ADDR}" in errors[0]
    assert not dest.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".image.tar")]


def test_a_failed_solve_leaves_no_partial_directory(tmp_path: Path, fake_buildctl: Path) -> None:
    dest = tmp_path / "rootfs"
    result = pun_build(
        ["--context", str(context(tmp_path)), "--output", f"type=local,dest={dest}"],
        tmp_path / "cache",
        env_for(fake_buildctl, mode="fail"),
    )
    assert result.code == 1
    assert "buildctl failed (exit status 1)" in result.err
    assert not dest.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".rootfs")]


def test_missing_buildctl_names_the_address(tmp_path: Path) -> None:
    dest = tmp_path / "image.tar"
    result = pun_build(
        [
            "--context",
            str(context(tmp_path)),
            "--output",
            f"type=oci,dest={dest}",
            "--builder",
            "buildctl",
            "--buildctl",
            "no-such-buildctl",
        ],
        tmp_path / "cache",
        {"BUILDKIT_HOST": ADDR},
    )
    assert result.code == 1
    assert f"BuildKit at {ADDR} cannot be used" in result.err and "--builder embedded" in result.err
    assert not dest.exists()


def test_squash_is_refused_for_buildctl(tmp_path: Path, fake_buildctl: Path) -> None:
    result = pun_build(
        [
            "--context",
            str(context(tmp_path)),
            "--output",
            f"type=oci,dest={tmp_path / 'x'}",
            "--squash",
        ],
        tmp_path / "cache",
        env_for(fake_buildctl),
    )
    assert result.code == 1 and "--squash works with the embedded builder only" in result.err


@pytest.mark.skipif(
    not (os.environ.get("BUILDCTL") and os.environ.get("BUILDKIT_HOST")),
    reason="opt-in: set BUILDCTL and BUILDKIT_HOST to run against a real BuildKit",
)
def test_real_buildctl_builds_an_annotated_reproducible_image(tmp_path: Path) -> None:
    skopeo = require("skopeo")
    ctx = context(tmp_path)
    digests = []
    for name in ("a.tar", "b.tar"):
        dest = tmp_path / name
        result = pun_build(
            [
                "--context",
                str(ctx),
                "--output",
                f"type=oci,dest={dest}",
                "--builder",
                "buildctl",
                "--buildctl",
                os.environ["BUILDCTL"],
                "--metadata-file",
                "-",
            ],
            tmp_path / "cache",
            {"BUILDKIT_HOST": os.environ["BUILDKIT_HOST"]},
        )
        assert result.code == 0, result.err
        raw = json.loads(run([skopeo, "inspect", "--raw", f"oci-archive:{dest}"]).stdout)
        assert LABELS.items() <= raw["annotations"].items()
        digests.append(json.loads(run([skopeo, "inspect", f"oci-archive:{dest}"]).stdout)["Digest"])
    assert digests[0] == digests[1]
