"""Dependency inference from COPY sources (RuleRunner): file owners, packaged targets at their
output_path, shell_command/adhoc_tool outputs, directories and wildcards, and ambiguity."""

from __future__ import annotations

import logging
from textwrap import dedent
from typing import List

import pytest
from pants.engine.addresses import Address
from pants.engine.target import InferredDependencies
from pants.testutil.rule_runner import QueryRule, RuleRunner

from pun_rules.dependency_inference import (
    InferUnikernelImageDependencies,
    UnikernelInferenceFieldSet,
)
from pun_testing.pants_rules import new_rule_runner


@pytest.fixture
def rule_runner() -> RuleRunner:
    return new_rule_runner([QueryRule(InferredDependencies, [InferUnikernelImageDependencies])])


def inferred(rule_runner: RuleRunner, address: Address) -> List[str]:
    target = rule_runner.get_target(address)
    result = rule_runner.request(
        InferredDependencies,
        [InferUnikernelImageDependencies(UnikernelInferenceFieldSet.create(target))],
    )
    return sorted(str(a) for a in result.include)


def test_owners_of_copied_files_and_directories(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "uk/BUILD": dedent(
                """\
                files(name="kernel", sources=["app.hvt"])
                resources(name="conf", sources=["rootfs/etc/*.conf"])
                files(name="unused", sources=["notes.txt"])
                unikernel_image(name="img")
                """
            ),
            "uk/Containerfile": "FROM scratch\nCOPY app.hvt /k\nCOPY rootfs/ /\n",
            "uk/app.hvt": "k",
            "uk/rootfs/etc/a.conf": "a",
            "uk/rootfs/etc/b.conf": "b",
            "uk/notes.txt": "n",
        }
    )
    assert inferred(rule_runner, Address("uk", target_name="img")) == [
        "uk/app.hvt:kernel",
        "uk/rootfs/etc/a.conf:../../conf",
        "uk/rootfs/etc/b.conf:../../conf",
    ]


def test_wildcards_follow_path_match(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "uk/BUILD": dedent(
                """\
                files(name="top", sources=["a.bin", "b.bin"])
                files(name="deep", sources=["sub/c.bin"])
                unikernel_image(name="img")
                """
            ),
            "uk/Containerfile": "FROM scratch\nCOPY *.bin /bin/\n",
            "uk/a.bin": "a",
            "uk/b.bin": "b",
            "uk/sub/c.bin": "c",
        }
    )
    # `*` does not cross `/`: sub/c.bin is not copied, so not inferred.
    assert inferred(rule_runner, Address("uk", target_name="img")) == [
        "uk/a.bin:top",
        "uk/b.bin:top",
    ]


def test_context_root_changes_what_copy_paths_mean(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "kernels/BUILD": 'files(name="k", sources=["app.hvt"])',
            "kernels/app.hvt": "k",
            "uk/BUILD": 'unikernel_image(name="img", context_root="/")',
            "uk/Containerfile": "FROM scratch\nCOPY kernels/app.hvt /k\n",
        }
    )
    assert inferred(rule_runner, Address("uk", target_name="img")) == ["kernels/app.hvt:k"]


def test_packaged_target_whose_output_path_is_copied(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "uk/BUILD": dedent(
                """\
                files(name="payload", sources=["payload.txt"])
                archive(name="bundle", format="tar", files=[":payload"], output_path="rootfs.tar")
                archive(name="other", format="tar", files=[":payload"])
                unikernel_image(name="img")
                """
            ),
            "uk/payload.txt": "p",
            "uk/Containerfile": "FROM scratch\nCOPY rootfs.tar /rootfs.tar\n",
        }
    )
    assert inferred(rule_runner, Address("uk", target_name="img")) == ["uk:bundle"]


def test_default_output_path_of_a_packaged_target(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "pkg/BUILD": dedent(
                """\
                files(name="payload", sources=["payload.txt"])
                archive(name="bundle", format="tar", files=[":payload"])
                """
            ),
            "pkg/payload.txt": "p",
            "uk/BUILD": "unikernel_image(name='img')",
            "uk/Containerfile": "FROM scratch\nCOPY pkg/bundle.tar /b.tar\n",
        }
    )
    assert inferred(rule_runner, Address("uk", target_name="img")) == ["pkg:bundle"]


def test_codegen_outputs(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "uk/BUILD": dedent(
                """\
                shell_command(
                    name="kernel",
                    command="true",
                    output_files=["out/app.hvt"],
                )
                shell_command(
                    name="rootfs",
                    command="true",
                    workdir="./gen",
                    output_directories=["tree"],
                )
                shell_command(
                    name="unrelated",
                    command="true",
                    output_files=["out/other.bin"],
                )
                unikernel_image(name="img")
                """
            ),
            "uk/Containerfile": "FROM scratch\nCOPY out/app.hvt /k\nCOPY gen/tree/etc /etc\n",
        }
    )
    assert inferred(rule_runner, Address("uk", target_name="img")) == ["uk:kernel", "uk:rootfs"]


def test_ambiguous_file_is_not_inferred_and_warns(
    rule_runner: RuleRunner, caplog: pytest.LogCaptureFixture
) -> None:
    rule_runner.write_files(
        {
            "uk/BUILD": dedent(
                """\
                files(name="checked_in", sources=["app.hvt"])
                shell_command(name="built", command="true", output_files=["app.hvt"])
                unikernel_image(name="img")
                unikernel_image(
                    name="settled",
                    dependencies=["!:checked_in"],
                )
                """
            ),
            "uk/Containerfile": "FROM scratch\nCOPY app.hvt /k\n",
            "uk/app.hvt": "k",
        }
    )
    with caplog.at_level(logging.WARNING):
        assert inferred(rule_runner, Address("uk", target_name="img")) == []
    warning = caplog.text
    assert "COPYs `app.hvt` (uk/Containerfile:2)" in warning
    assert "uk/app.hvt:checked_in" in warning and "uk:built" in warning

    # Excluding one candidate settles it.
    assert inferred(rule_runner, Address("uk", target_name="settled")) == ["uk:built"]


def test_wildcards_follow_go_path_match(rule_runner: RuleRunner) -> None:
    """`[^b]` negates and `[!b]` does not (Go's path.Match, as the build); Pants' own globs
    read both the other way round, so they only narrow the search."""
    rule_runner.write_files(
        {
            "uk/BUILD": 'files(name="k", sources=["*.hvt"])\nunikernel_image(name="img")',
            "uk/Containerfile": "FROM scratch\nCOPY app[^b].hvt /neg/\nCOPY x[!b].hvt /set/\n",
            **{f"uk/{n}.hvt": n for n in ("appa", "appb", "xb", "x!", "xc")},
        }
    )
    assert inferred(rule_runner, Address("uk", target_name="img")) == [
        "uk/appa.hvt:k",
        "uk/x!.hvt:k",
        "uk/xb.hvt:k",
    ]


def test_from_and_copy_from_naming_another_unikernel_image(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "base/BUILD": 'unikernel_image(name="img", repository="layers/base")\n'
            'unikernel_image(name="hashed", repository="layers/h", image_tags=["{pants.hash}"])\n',
            "base/Containerfile": "FROM scratch\n",
            "by/BUILD": dedent(
                """\
                unikernel_image(name="address", source="address.Containerfile")
                unikernel_image(name="relative", source="relative.Containerfile")
                unikernel_image(name="name", source="name.Containerfile")
                unikernel_image(name="arg", source="arg.Containerfile")
                unikernel_image(name="registry", source="registry.Containerfile")
                unikernel_image(name="hash", source="hash.Containerfile")
                unikernel_image(name="plain", source="plain.Containerfile")
                """
            ),
            "by/address.Containerfile": "FROM //base:img\n",
            "by/relative.Containerfile": "FROM scratch\nCOPY --from=base:img /a /a\n",
            "by/name.Containerfile": "FROM scratch\nCOPY --from=layers/base:latest /a /a\n",
            "by/arg.Containerfile": "ARG BASE=//base:img\nFROM $BASE\n",
            # Not ours: a registry image, and a name only known after building.
            "by/registry.Containerfile": "FROM docker.io/library/alpine:3.19\n",
            "by/hash.Containerfile": "FROM layers/h:latest\n",
            "by/plain.Containerfile": "FROM alpine:3.19\nCOPY --from=busybox /bin/sh /sh\n",
        }
    )
    for name in ("address", "relative", "name", "arg"):
        assert inferred(rule_runner, Address("by", target_name=name)) == ["base:img"], name
    for name in ("registry", "hash", "plain"):
        assert inferred(rule_runner, Address("by", target_name=name)) == [], name
