"""`unikernel_initrd` through the real rules and a real `pun initrd` process (RuleRunner): the
archive judged by GNU cpio, the same bytes when the inputs' host metadata change, an image that
COPYs it by its output_path (inferred), and `pants run`'s request for an image."""

from __future__ import annotations

import os
import subprocess

import pytest
from pants.core.goals.package import BuiltPackage
from pants.core.goals.run import RunRequest
from pants.engine.addresses import Address
from pants.engine.fs import Digest, DigestContents
from pants.engine.internals.scheduler import ExecutionError
from pants.engine.target import InferredDependencies
from pants.testutil.rule_runner import QueryRule, RuleRunner

from pun_rules.dependency_inference import (
    InferUnikernelImageDependencies,
    UnikernelInferenceFieldSet,
)
from pun_rules.goals.package_initrd import UnikernelInitrdFieldSet
from pun_rules.goals.run import UnikernelImageRunFieldSet
from pun_testing.pants_rules import configure, new_rule_runner, offline_env, offline_options
from pun_testing.tools import require

BUILD = """\
files(name="bb", sources=["vendor/busybox"])
unikernel_initrd(
    name="initrd",
    sources=["init", "etc/motd"],
    dependencies=[":bb"],
    layout={"vendor/busybox": "/bin/busybox"},
    symlinks={"/bin/sh": "busybox"},
    directories=["/proc"],
    output_path="initrd.cpio",
)
unikernel_image(name="img")
"""

CONTAINERFILE = """\
FROM scratch
COPY kernel /k/vmlinuz
COPY initrd.cpio /k/initrd.cpio
LABEL com.urunc.unikernel.unikernelType=linux
LABEL com.urunc.unikernel.hypervisor=qemu
LABEL com.urunc.unikernel.binary=/k/vmlinuz
LABEL com.urunc.unikernel.initrd=/k/initrd.cpio
LABEL com.urunc.unikernel.cmdline=/init
"""


@pytest.fixture
def rule_runner() -> RuleRunner:
    rule_runner = new_rule_runner(
        [
            QueryRule(BuiltPackage, [UnikernelInitrdFieldSet]),
            QueryRule(RunRequest, [UnikernelImageRunFieldSet]),
            QueryRule(InferredDependencies, [InferUnikernelImageDependencies]),
            QueryRule(DigestContents, [Digest]),
        ]
    )
    rule_runner.write_files(
        {
            "lh/BUILD": BUILD,
            "lh/Containerfile": CONTAINERFILE,
            "lh/kernel": "not a kernel",
            "lh/init": "#!/bin/sh\necho hi\n",
            "lh/etc/motd": "hello\n",
            "lh/vendor/busybox": "\x7fELF busybox",
        }
    )
    os.chmod(os.path.join(rule_runner.build_root, "lh/init"), 0o755)
    configure(rule_runner, offline_options(), env=offline_env())
    return rule_runner


def package_initrd(rule_runner: RuleRunner) -> bytes:
    target = rule_runner.get_target(Address("lh", target_name="initrd"))
    built = rule_runner.request(BuiltPackage, [UnikernelInitrdFieldSet.create(target)])
    assert [a.relpath for a in built.artifacts] == ["initrd.cpio"]
    (content,) = rule_runner.request(DigestContents, [built.digest])
    return content.content


def test_initrd_holds_the_layout(rule_runner: RuleRunner) -> None:
    cpio = require("cpio")
    listing = subprocess.run(
        [cpio, "-t", "-v", "--numeric-uid-gid"],
        input=package_initrd(rule_runner),
        capture_output=True,
        check=True,
    ).stdout.decode()
    entries = {line.split()[8]: line.split()[0] for line in listing.splitlines()}
    assert list(entries) == ["bin", "bin/busybox", "bin/sh", "etc", "etc/motd", "init", "proc"]
    assert entries["init"] == "-rwxr-xr-x"  # the execute bit survives Pants' digests
    assert entries["etc/motd"] == "-rw-r--r--"
    assert entries["bin/sh"].startswith("l")


def test_initrd_bytes_ignore_host_metadata(rule_runner: RuleRunner) -> None:
    first = package_initrd(rule_runner)
    motd = os.path.join(rule_runner.build_root, "lh/etc/motd")
    os.utime(motd, (12345, 12345))
    os.chmod(motd, 0o600)
    rule_runner.write_files({"lh/etc/motd": "hello\n"})  # same bytes, new file
    assert package_initrd(rule_runner) == first


def test_unknown_layout_source_is_named(rule_runner: RuleRunner) -> None:
    rule_runner.write_files({"lh/BUILD": BUILD.replace('"vendor/busybox": ', '"vendor/busybx": ')})
    with pytest.raises(ExecutionError) as caught:
        package_initrd(rule_runner)
    message = str(caught.value)
    assert "unikernel_initrd lh:initrd: `layout` names 'vendor/busybx'" in message
    assert "did you mean vendor/busybox" in message


def test_image_infers_the_initrd_from_its_output_path(rule_runner: RuleRunner) -> None:
    target = rule_runner.get_target(Address("lh", target_name="img"))
    result = rule_runner.request(
        InferredDependencies,
        [InferUnikernelImageDependencies(UnikernelInferenceFieldSet.create(target))],
    )
    assert Address("lh", target_name="initrd") in result.include


def test_run_request_runs_pun_run_on_the_archive(rule_runner: RuleRunner) -> None:
    rule_runner.write_files({"lh/BUILD": BUILD + 'files(name="k", sources=["kernel"])\n'})
    target = rule_runner.get_target(Address("lh", target_name="img"))
    request = rule_runner.request(RunRequest, [UnikernelImageRunFieldSet.create(target)])
    assert request.args[1:] == ("run", "{chroot}/lh/img.oci.tar")
    assert request.args[0].startswith("{chroot}/")
    assert "PATH" in request.extra_env
    names = {c.path for c in rule_runner.request(DigestContents, [request.digest])}
    assert "lh/img.oci.tar" in names
