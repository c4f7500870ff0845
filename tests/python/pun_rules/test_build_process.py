"""The build process (RuleRunner): `pun build` argv and sandbox for both builders, and where
buildctl comes from (a checksum-pinned download, or the search path). Builds the pun tool PEX
from the lockfile shipped with the plugin."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path
from textwrap import dedent
from typing import List

import pytest
from pants.engine.addresses import Address
from pants.engine.fs import Digest, DigestContents, Snapshot
from pants.engine.internals.scheduler import ExecutionError
from pants.engine.process import Process
from pants.testutil.rule_runner import QueryRule, RuleRunner

from pun.buildplan import read_spec_file
from pun.llb.pb import ops_pb2
from pun_rules.field_sets import UnikernelImageFieldSet
from pun_rules.util_rules.build_process import UnikernelBuildProcess
from pun_rules.util_rules.build_request import UnikernelBuildRequest
from pun_testing.pants_rules import configure, new_rule_runner, offline_env, offline_options

FAKE_BUILDCTL = "#!/bin/sh\necho 'buildctl github.com/moby/buildkit v0.16.0 fake'\n"


@pytest.fixture
def rule_runner() -> RuleRunner:
    rule_runner = new_rule_runner(
        [
            QueryRule(UnikernelBuildRequest, [UnikernelImageFieldSet]),
            QueryRule(UnikernelBuildProcess, [UnikernelBuildRequest]),
            QueryRule(Snapshot, [Digest]),
            QueryRule(DigestContents, [Digest]),
        ]
    )
    rule_runner.write_files(
        {
            "uk/BUILD": dedent(
                """\
                files(name="bin", sources=["app.hvt"])
                unikernel_image(
                    name="img",
                    image_tags=["1.0", "two"],
                    registries=["127.0.0.1:5000"],
                    build_args=["NAME=app"],
                    annotations={"org.example.k": "v,w"},
                    platform="linux/arm64",
                )
                """
            ),
            "uk/Containerfile": dedent(
                """\
                FROM scratch
                ARG NAME
                COPY app.hvt /unikernel/${NAME}.hvt
                LABEL com.urunc.unikernel.binary=/unikernel/app.hvt
                LABEL com.urunc.unikernel.unikernelType="rumprun"
                LABEL com.urunc.unikernel.hypervisor="hvt"
                """
            ),
            "uk/app.hvt": "kernel",
        }
    )
    return rule_runner


def process(rule_runner: RuleRunner, args: List[str] = [], env: dict = {}) -> Process:
    configure(rule_runner, [*offline_options(), *args], env={**offline_env(), **env})
    target = rule_runner.get_target(Address("uk", target_name="img"))
    request = rule_runner.request(UnikernelBuildRequest, [UnikernelImageFieldSet.create(target)])
    return rule_runner.request(UnikernelBuildProcess, [request]).process


def pun_args(process: Process) -> List[str]:
    """The arguments after the PEX: `build ...`."""
    return list(process.argv[process.argv.index("build") :])


def test_embedded_build_process(rule_runner: RuleRunner) -> None:
    built = process(rule_runner)
    args = pun_args(built)
    # The rule planned once: the process gets the Definition and image spec as files, and
    # none of the flags that would make `pun build` parse and generate again.
    assert args == [
        "build",
        "--definition=.pun-plan/definition.pb",
        "--image-spec=.pun-plan/image-spec.json",
        "--context=.pun-context",
        "--output=type=oci,dest=uk/img.oci.tar,"
        '"name=127.0.0.1:5000/uk/img:1.0,127.0.0.1:5000/uk/img:two"',
        "--metadata-file=.pun-metadata.json",
        "--annotation=org.example.k=v,w",
        "--source-date-epoch=0",
        "--cache-dir=.pun-cache",
        "--progress=plain",
        "--builder=embedded",
    ]
    assert built.output_files == ("uk/img.oci.tar", ".pun-metadata.json")
    assert built.append_only_caches["pun_blobs"] == ".pun-cache"
    assert built.description == "Building unikernel image uk:img"
    sandbox = rule_runner.request(Snapshot, [built.input_digest])
    assert ".pun-context/app.hvt" in sandbox.files
    assert "uk/Containerfile" not in sandbox.files  # nothing in the process reads it
    assert not any(f.startswith(".pun-context/uk") for f in sandbox.files)
    files = {c.path: c.content for c in rule_runner.request(DigestContents, [built.input_digest])}
    planned = read_spec_file(files[".pun-plan/image-spec.json"], "spec")
    # The target's platform and build args shaped the plan (not flags of the process).
    assert str(planned.image.platform) == "linux/arm64"
    assert planned.path == "uk/Containerfile" and planned.source_map
    definition = ops_pb2.Definition.FromString(files[".pun-plan/definition.pb"])
    copies = [
        ops_pb2.Op.FromString(op).file.actions[0].copy
        for op in getattr(definition, "def")
        if ops_pb2.Op.FromString(op).WhichOneof("op") == "file"
    ]
    assert any(c.src == "/app.hvt" and c.dest == "/unikernel/app.hvt" for c in copies)


def fake_buildctl(tmp_path: Path) -> Path:
    directory = tmp_path / "bin"
    directory.mkdir()
    program = directory / "buildctl"
    program.write_text(FAKE_BUILDCTL)
    program.chmod(0o755)
    return directory


def test_buildctl_from_the_search_path(rule_runner: RuleRunner, tmp_path: Path) -> None:
    directory = fake_buildctl(tmp_path)
    built = process(
        rule_runner,
        [
            "--pun-builder=buildctl",
            "--pun-buildkit-address=tcp://127.0.0.1:1234",
            f"--buildctl-executable-search-paths=['{directory}']",
        ],
    )
    args = pun_args(built)
    assert "--builder=buildctl" in args
    assert f"--buildctl={directory}/buildctl" in args
    assert "--buildkit-addr=tcp://127.0.0.1:1234" in args
    # A different buildctl makes a different cache key.
    assert built.env["PUN_BUILDCTL_FINGERPRINT"]


def test_buildkit_host_is_the_default_address(rule_runner: RuleRunner, tmp_path: Path) -> None:
    directory = fake_buildctl(tmp_path)
    built = process(
        rule_runner,
        ["--pun-builder=buildctl", f"--buildctl-executable-search-paths=['{directory}']"],
        {"BUILDKIT_HOST": "unix:///run/buildkit/buildkitd.sock"},
    )
    assert "--buildkit-addr=unix:///run/buildkit/buildkitd.sock" in pun_args(built)
    assert "BUILDKIT_HOST" not in built.env


def test_buildctl_download_is_verified(rule_runner: RuleRunner, tmp_path: Path) -> None:
    # A release archive laid out like BuildKit's (bin/buildctl), served from a file:// URL.
    archive = tmp_path / "buildkit-v0.16.0.linux-amd64.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        data = FAKE_BUILDCTL.encode()
        info = tarfile.TarInfo("bin/buildctl")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
    blob = archive.read_bytes()
    pin = f"0.16.0|linux_x86_64|{hashlib.sha256(blob).hexdigest()}|{len(blob)}"
    options = [
        "--pun-builder=buildctl",
        f"--buildctl-url-template=file://{tmp_path}/buildkit-v{{version}}.{{platform}}.tar.gz",
        f"--buildctl-known-versions=['{pin}']",
        "--buildctl-executable-search-paths=[]",
    ]
    built = process(rule_runner, options)
    assert "--buildctl=.pun-buildctl/bin/buildctl" in pun_args(built)
    sandbox = rule_runner.request(Snapshot, [built.input_digest])
    assert ".pun-buildctl/bin/buildctl" in sandbox.files

    wrong = pin.replace(hashlib.sha256(blob).hexdigest(), "0" * 64)
    with pytest.raises(ExecutionError, match="sha256|fingerprint|Digest"):
        process(rule_runner, [*options[:2], f"--buildctl-known-versions=['{wrong}']"])


def test_missing_buildctl_says_what_to_do(rule_runner: RuleRunner, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ExecutionError) as raised:
        process(
            rule_runner,
            ["--pun-builder=buildctl", f"--buildctl-executable-search-paths=['{empty}']"],
        )
    message = str(raised.value)
    assert "needs BuildKit's buildctl, and none was found" in message
    assert "[buildctl].known_versions" in message and '"embedded"' in message


def test_env_vars_reach_the_build_process(rule_runner: RuleRunner) -> None:
    built = process(
        rule_runner,
        ["--pun-env-vars=['HTTPS_PROXY', 'PUN_FIXED=1']"],
        {"HTTPS_PROXY": "http://proxy:3128"},
    )
    assert built.env["HTTPS_PROXY"] == "http://proxy:3128"
    assert built.env["PUN_FIXED"] == "1"
    assert os.environ.get("BUILDKIT_HOST") is None or "BUILDKIT_HOST" not in built.env
