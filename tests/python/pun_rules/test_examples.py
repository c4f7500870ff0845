"""The examples/ tree (RuleRunner, no network): what each example infers, and the unikraft
re-wrap's LLB (a unikraft.org base for qemu/amd64) generated without pulling anything.

The examples come into the test's sandbox as dependencies (tests/python/pun_rules/BUILD)."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import pytest
from pants.engine.addresses import Address
from pants.engine.target import InferredDependencies, Tags
from pants.testutil.rule_runner import QueryRule, RuleRunner

from pun_rules.dependency_inference import (
    InferUnikernelImageDependencies,
    UnikernelInferenceFieldSet,
)
from pun_rules.field_sets import UnikernelImageFieldSet
from pun_rules.util_rules.build_request import UnikernelBuildRequest
from pun_testing.pants_rules import examples_dir, new_rule_runner


def example_files() -> Dict[str, bytes]:
    root = examples_dir()
    return {
        str(path.relative_to(root.parent)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def rule_runner() -> RuleRunner:
    rule_runner = new_rule_runner(
        [
            QueryRule(InferredDependencies, [InferUnikernelImageDependencies]),
            QueryRule(UnikernelBuildRequest, [UnikernelImageFieldSet]),
        ]
    )
    rule_runner.write_files(example_files())
    return rule_runner


def inferred(rule_runner: RuleRunner, address: Address) -> List[str]:
    target = rule_runner.get_target(address)
    result = rule_runner.request(
        InferredDependencies,
        [InferUnikernelImageDependencies(UnikernelInferenceFieldSet.create(target))],
    )
    return sorted(str(a) for a in result.include)


def test_examples_exist() -> None:
    names = {Path(p).parent.name for p in example_files() if p.endswith("/BUILD")}
    assert {"rumprun-redis", "unikraft-nginx", "hello-shell"} <= names


def test_redis_infers_its_files(rule_runner: RuleRunner) -> None:
    assert inferred(rule_runner, Address("examples/rumprun-redis", target_name="redis")) == [
        "examples/rumprun-redis/redis.conf:rootfs",
        "examples/rumprun-redis/test-redis.hvt:rootfs",
    ]


def test_hello_infers_the_shell_command_that_builds_it(rule_runner: RuleRunner) -> None:
    address = Address("examples/hello-shell", target_name="hello")
    assert inferred(rule_runner, address) == ["examples/hello-shell:kernel"]


def test_unikraft_llb_needs_no_network(rule_runner: RuleRunner) -> None:
    target = rule_runner.get_target(Address("examples/unikraft-nginx", target_name="nginx"))
    assert "needs-network" in (target[Tags].value or ())
    request = rule_runner.request(UnikernelBuildRequest, [UnikernelImageFieldSet.create(target)])
    assert b"docker-image://unikraft.org/nginx:1.15" in request.definition
    assert b"qemu" in request.definition  # unikraft.org bases: the hypervisor is the OS
    assert [n.name for n in request.names] == ["unikernels/nginx:1.15"]
    assert request.context.snapshot.files == ()


# urunc hands a rumprun guest the container's root filesystem as a block device mounted at
# /data, never at `/` ("Rumprun does not allow us to mount anything at '/'": urunc
# pkg/unikontainers/block.go, and `Blk.Mountpoint = "/data"` in unikernels/rumprun.go of
# urunc 0.4 and 0.5). So a file COPYd to /X is /data/X for the guest's command line.
RUMPRUN_ROOTFS_IN_GUEST = "/data"


def test_redis_cmdline_names_the_copied_config_where_the_guest_sees_it() -> None:
    from pun.api import read_plan

    plan = read_plan((examples_dir() / "rumprun-redis" / "Containerfile").read_text())
    labels = plan.label_values()
    assert labels["com.urunc.unikernel.unikernelType"] == "rumprun"
    (config,) = [c.dest for c in plan.copies if c.sources == ("redis.conf",)]
    program, config_arg = labels["com.urunc.unikernel.cmdline"].split()
    assert program == "redis-server"
    assert config_arg == RUMPRUN_ROOTFS_IN_GUEST + config
    # ... and the guest gets that rootfs at all: with neither initrd nor block, urunc gives the
    # guest the container's rootfs only when mountRootfs (>= 0.7) / useDMBlock (0.5/0.6) is
    # true; "false" leaves it none (urunc guest_rootfs.go), and redis-server no config file.
    assert "com.urunc.unikernel.initrd" not in labels
    assert "com.urunc.unikernel.block" not in labels
    assert labels["com.urunc.unikernel.mountRootfs"] == "true"
    assert labels["com.urunc.unikernel.useDMBlock"] == "true"


def test_linux_hello_infers_its_kernel_and_initrd(rule_runner: RuleRunner) -> None:
    # The fetched Debian files (fetch-debian.sh), as stand-ins: inference needs them to exist.
    rule_runner.write_files(
        {f"examples/linux-hello/debian/{name}": name for name in ("vmlinuz", "busybox")}
    )
    address = Address("examples/linux-hello", target_name="image")
    assert inferred(rule_runner, address) == [
        "examples/linux-hello/debian/vmlinuz:../debian",  # the file of :debian
        "examples/linux-hello:initrd",
    ]
    target = rule_runner.get_target(address)
    assert "needs-debian-files" in (target[Tags].value or ())  # skipped until fetched


def test_linux_hello_rootfs_infers_the_files_its_initrd_is_made_of(
    rule_runner: RuleRunner,
) -> None:
    rule_runner.write_files(
        {
            **{f"examples/linux-hello/debian/{name}": name for name in ("vmlinuz", "busybox")},
            "examples/linux-hello/init": "#!/bin/sh\n",
        }
    )
    address = Address("examples/linux-hello", target_name="image-rootfs")
    # debian/busybox is read only by the COPYs that feed pun.rootfs: inferred all the same.
    assert inferred(rule_runner, address) == [
        "examples/linux-hello/debian/busybox:../debian",
        "examples/linux-hello/debian/vmlinuz:../debian",
        "examples/linux-hello/init:init-file",
    ]
