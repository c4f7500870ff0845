"""The buildctl builder: the exact command line and stdin it hands to buildctl, how it fails,
and what it makes of BuildKit's archive.

The first tests use a fake `buildctl` that answers as BuildKit v0.32.2 does (lower-cased
`--output` keys, a raw-LLB config without Labels: pun_testing/fake_buildctl.py) and records
what it was given. The last ones run the real BuildKit (required in CI: .ci/run starts one)
for every output type, judged by skopeo, umoci and the registry.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from pun.api import GenerateOptions, generate
from pun.imagespec import ImageSpec
from pun.solve import BuildOptions, build
from pun_testing import fake_buildctl as fake
from pun_testing.building import environment, pun_build
from pun_testing.buildkit import BuildKit, buildkit
from pun_testing.registry import Registry, registry
from pun_testing.rootfs import listing, writable_copy
from pun_testing.shared import CASES
from pun_testing.tools import docker_env, require, require_docker, run

__all__ = ["buildkit", "registry"]  # pytest fixtures, used by name below

ADDR = "tcp://127.0.0.1:1234"
LABELS = {
    "com.urunc.unikernel.binary": "/unikernel/test-redis.hvt",
    "com.urunc.unikernel.cmdline": "redis-server /data/conf/redis.conf",
    "com.urunc.unikernel.hypervisor": "hvt",
    "com.urunc.unikernel.unikernelType": "rumprun",
}


@pytest.fixture
def fake_buildctl(tmp_path: Path) -> Path:
    fake.install(tmp_path / "bin")
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


def manifest_of(archive: Path) -> Dict[str, Any]:
    raw = run([require("skopeo"), "inspect", "--raw", f"oci-archive:{archive}"]).stdout
    return dict(json.loads(raw))


def config_of(archive: Path) -> Dict[str, Any]:
    raw = run([require("skopeo"), "inspect", "--config", f"oci-archive:{archive}"]).stdout
    return dict(json.loads(raw))


def test_exact_argv_and_exact_case_annotations(tmp_path: Path, fake_buildctl: Path) -> None:
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
        f"type=oci,dest={temporary},rewrite-timestamp=true,oci-mediatypes=true",
        "--opt",
        "build-arg:SOURCE_DATE_EPOCH=1700000000",
    ]
    assert not Path(temporary).exists()  # BuildKit's archive is scratch, removed afterwards
    # The fake lower-cases keys as buildctl does; the image has them as the Containerfile says.
    assert manifest_of(dest)["annotations"] == LABELS
    config = config_of(dest)
    # pun's config, not BuildKit's raw-LLB one (only Env and WorkingDir): Labels, and the
    # urunc bridge's Cmd from the cmdline label.
    assert config["config"]["Labels"] == LABELS
    assert config["config"]["Cmd"] == LABELS["com.urunc.unikernel.cmdline"].split(" ")
    assert [h["comment"] for h in config["history"]] == ["pun"] * 3
    inspected = json.loads(run([require("skopeo"), "inspect", f"oci-archive:{dest}"]).stdout)
    assert json.loads(result.out)["containerimage.digest"] == inspected["Digest"]
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
            f"type=oci,dest={tmp_path / 'image.tar'}",
            builder="buildctl",
            options=BuildOptions(
                buildkit_addr=ADDR, progress="quiet", cache_dir=str(tmp_path / "cache")
            ),
        )
    assert (fake_buildctl / "stdin.bin").read_bytes() == definition


def test_labels_with_commas_and_quotes_reach_the_manifest_unchanged(
    tmp_path: Path, fake_buildctl: Path
) -> None:
    ctx = context(tmp_path)
    definition = generate("FROM scratch\n", GenerateOptions()).definition
    labels = {"Key.With.Case": 'a,b "c"', "k=v": "x"}
    with environment(env_for(fake_buildctl)):
        build(
            definition,
            str(ctx),
            ImageSpec.from_labels(labels),
            f"type=oci,dest={tmp_path / 'image.tar'}",
            builder="buildctl",
            options=BuildOptions(progress="quiet", cache_dir=str(tmp_path / "cache")),
        )
    assert manifest_of(tmp_path / "image.tar")["annotations"] == labels


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
    assert output.startswith("type=local,dest=") and output.count(",") == 1
    assert Path(output[len("type=local,dest=") :]).parent == tmp_path
    assert sorted(os.listdir(dest)) == ["conf", "unikernel", "urunc.json"]


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


def test_image_without_push_is_refused_before_buildkit_runs(
    tmp_path: Path, fake_buildctl: Path
) -> None:
    result = pun_build(
        ["--context", str(context(tmp_path)), "--output", "type=image,name=127.0.0.1:1/a:1"],
        tmp_path / "cache",
        env_for(fake_buildctl),
    )
    assert result.code == 1 and "type=image without push=true" in result.err
    assert not (fake_buildctl / "argv.json").exists()


# --- a real BuildKit --------------------------------------------------------------------------


def real_build(buildkit: BuildKit, tmp_path: Path, output: str, ctx: Path) -> Dict[str, Any]:
    result = pun_build(
        [
            "--context",
            str(ctx),
            "--output",
            output,
            "--builder",
            "buildctl",
            "--buildctl",
            buildkit.buildctl,
            "--progress",
            "plain",
            "--metadata-file",
            "-",
        ],
        tmp_path / "cache",
        {"BUILDKIT_HOST": buildkit.host},
    )
    assert result.code == 0, result.err
    assert "#1 " in result.err  # BuildKit's own progress: it really solved
    return dict(json.loads(result.out))


def unpacked(layout_ref: str, bundle: Path) -> Path:
    run([require("umoci"), "unpack", "--rootless", "--image", layout_ref, str(bundle)])
    return bundle / "rootfs"


def test_real_oci_is_annotated_labelled_and_reproducible(
    buildkit: BuildKit, tmp_path: Path
) -> None:
    ctx = context(tmp_path)
    digests = []
    for name in ("a.tar", "b.tar"):
        dest = tmp_path / name
        reported = real_build(buildkit, tmp_path, f"type=oci,dest={dest}", ctx)
        assert manifest_of(dest)["annotations"] == LABELS  # exact case, nothing else
        assert config_of(dest)["config"]["Labels"] == LABELS
        assert config_of(dest)["config"]["Cmd"] == LABELS["com.urunc.unikernel.cmdline"].split(" ")
        inspected = json.loads(run([require("skopeo"), "inspect", f"oci-archive:{dest}"]).stdout)
        assert reported["containerimage.digest"] == inspected["Digest"]
        digests.append(inspected["Digest"])
    assert digests[0] == digests[1]
    run([require("skopeo"), "copy", f"oci-archive:{tmp_path / 'a.tar'}", f"oci:{tmp_path}/l:x"])
    rootfs = unpacked(f"{tmp_path}/l:x", tmp_path / "bundle")
    expected = (CASES / "rumprun-redis" / "expected" / "rootfs.txt").read_text().splitlines()
    assert listing(rootfs) == expected


def test_real_docker_archive_loads_with_labels(buildkit: BuildKit, tmp_path: Path) -> None:
    dest = tmp_path / "image.docker.tar"
    name = f"pun-test/buildctl-docker:{uuid.uuid4().hex[:12]}"
    real_build(buildkit, tmp_path, f"type=docker,dest={dest},name={name}", context(tmp_path))
    raw = json.loads(run([require("skopeo"), "inspect", "--raw", f"docker-archive:{dest}"]).stdout)
    assert raw["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert {layer["mediaType"] for layer in raw["layers"]} == {
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
    }
    docker = require_docker()
    run([docker, "load", "-i", str(dest)], env=docker_env())
    try:
        labels = run(
            [docker, "image", "inspect", "--format", "{{json .Config.Labels}}", name],
            env=docker_env(),
        ).stdout
        assert json.loads(labels) == LABELS
    finally:
        run([docker, "rmi", name], env=docker_env(), check=False)


def test_real_local_is_the_recorded_rootfs(buildkit: BuildKit, tmp_path: Path) -> None:
    dest = tmp_path / "rootfs"
    real_build(buildkit, tmp_path, f"type=local,dest={dest}", context(tmp_path))
    expected = (CASES / "rumprun-redis" / "expected" / "rootfs.txt").read_text().splitlines()
    assert listing(dest) == expected


def test_real_push_has_exact_case_annotations(
    buildkit: BuildKit, registry: Registry, tmp_path: Path
) -> None:
    name = f"{registry.host}/unikernels/redis:buildctl"
    reported = real_build(
        buildkit, tmp_path, f"type=image,name={name},push=true", context(tmp_path)
    )
    skopeo = [require("skopeo"), "inspect", "--tls-verify=false"]
    raw = json.loads(run([*skopeo, "--raw", f"docker://{name}"]).stdout)
    assert raw["annotations"] == LABELS
    config = json.loads(run([*skopeo, "--config", f"docker://{name}"]).stdout)
    assert config["config"]["Labels"] == LABELS
    digest = json.loads(run([*skopeo, f"docker://{name}"]).stdout)["Digest"]
    assert reported["containerimage.digest"] == digest


# The third instruction spans lines 5-7 and names a file the context lacks.
MISSING_SOURCE = """FROM scratch
COPY redis.conf /conf/redis.conf
LABEL com.urunc.unikernel.binary=/unikernel/test-redis.hvt

COPY test-redis.hvt \\
     nothere \\
     /unikernel/
LABEL com.urunc.unikernel.unikernelType=rumprun
"""


def source_snippet(stderr: str) -> List[str]:
    """The numbered lines buildctl prints under BuildKit's `FILE:LINE` header."""
    return [line for line in stderr.splitlines() if re.match(r" +[0-9]+ \| ", line)]


@pytest.mark.parametrize("output", ["type=oci,dest={}/image.tar", "type=local,dest={}/rootfs"])
def test_real_failed_step_is_one_error_at_its_line(
    buildkit: BuildKit, tmp_path: Path, output: str
) -> None:
    ctx = context(tmp_path)
    containerfile = ctx / "Containerfile"
    containerfile.write_text(MISSING_SOURCE)
    out = tmp_path / "out"
    out.mkdir()
    result = pun_build(
        ["--context", str(ctx), "--output", output.format(out), "--builder", "buildctl"]
        + ["--buildctl", buildkit.buildctl, "--progress", "plain"],
        tmp_path / "cache",
        {"BUILDKIT_HOST": buildkit.host},
    )
    assert result.code == 1
    errors = [line for line in result.err.splitlines() if ": error: " in line]
    assert errors == [
        f"{containerfile}:5: error: BuildKit at {buildkit.host} could not build this step: "
        + errors[0].split("could not build this step: ", 1)[-1]
    ]
    assert errors[0].endswith('"/nothere": not found')
    assert "Traceback" not in result.err
    assert list(out.iterdir()) == []  # nothing half-written, no temporary left behind
    # The embedded builder names the same line for the same failure.
    embedded = pun_build(
        ["--context", str(ctx), "--output", output.format(out), "--builder", "embedded"],
        tmp_path / "cache",
    )
    assert embedded.code == 1 and list(out.iterdir()) == []
    assert [
        line.split(": error: ")[0] for line in embedded.err.splitlines() if ": error: " in line
    ] == [f"{containerfile}:5"]
    # buildctl showed the same lines as for BuildKit's own Dockerfile frontend on this file.
    frontend = run(
        buildkit.argv(
            "build",
            "--progress",
            "plain",
            "--frontend",
            "dockerfile.v0",
            "--local",
            f"context={ctx}",
            "--local",
            f"dockerfile={ctx}",
            "--opt",
            "filename=Containerfile",
            "--output",
            "type=tar,dest=/dev/null",
        ),
        timeout=300,
        check=False,
    )
    assert frontend.returncode != 0
    expected = source_snippet(frontend.stderr.decode())
    assert expected and expected == source_snippet(result.err)
    assert [line.split("|")[0].strip() for line in expected if ">>>" in line] == ["5", "6", "7"]
