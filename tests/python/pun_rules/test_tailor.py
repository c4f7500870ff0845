"""`pants tailor` (RuleRunner): one unikernel_image per Containerfile that nothing owns yet, and
a `files` target for the COPY sources nothing owns, which dependency inference then picks up."""

from __future__ import annotations

from typing import List

import pytest
from pants.core.goals.tailor import AllOwnedSources, PutativeTarget, PutativeTargets
from pants.core.target_types import FilesGeneratorTarget
from pants.engine.addresses import Address
from pants.engine.target import InferredDependencies
from pants.testutil.rule_runner import QueryRule, RuleRunner

from pun_rules.dependency_inference import (
    InferUnikernelImageDependencies,
    UnikernelInferenceFieldSet,
)
from pun_rules.goals.tailor import PutativeUnikernelTargetsRequest, target_name
from pun_rules.target_types import UnikernelImageTarget
from pun_testing.pants_rules import configure, new_rule_runner


@pytest.fixture
def rule_runner() -> RuleRunner:
    return new_rule_runner(
        [
            QueryRule(PutativeTargets, [PutativeUnikernelTargetsRequest, AllOwnedSources]),
            QueryRule(InferredDependencies, [InferUnikernelImageDependencies]),
        ]
    )


def test_new_containerfiles_get_targets(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "uk/redis/Containerfile": "FROM scratch\n",
            "uk/web/nginx.Containerfile": "FROM scratch\n",
            "uk/web/Containerfile.debug": "FROM scratch\n",
            "uk/owned/Containerfile": "FROM scratch\n",
            "uk/owned/BUILD": "unikernel_image()",
        }
    )
    found = rule_runner.request(
        PutativeTargets,
        [
            PutativeUnikernelTargetsRequest(("uk/redis", "uk/web", "uk/owned")),
            AllOwnedSources(["uk/owned/Containerfile"]),
        ],
    )
    assert found == PutativeTargets(
        [
            PutativeTarget.for_target_type(
                UnikernelImageTarget, "uk/redis", "redis", ["Containerfile"]
            ),
            PutativeTarget.for_target_type(
                UnikernelImageTarget,
                "uk/web",
                "debug",
                ["Containerfile.debug"],
                kwargs={"source": "Containerfile.debug"},
            ),
            PutativeTarget.for_target_type(
                UnikernelImageTarget,
                "uk/web",
                "nginx",
                ["nginx.Containerfile"],
                kwargs={"source": "nginx.Containerfile"},
            ),
        ]
    )


def test_tailor_can_be_switched_off(rule_runner: RuleRunner) -> None:
    rule_runner.write_files({"uk/redis/Containerfile": "FROM scratch\n"})
    configure(rule_runner, ["--no-pun-tailor"])
    found = rule_runner.request(
        PutativeTargets,
        [PutativeUnikernelTargetsRequest(("uk/redis",)), AllOwnedSources([])],
    )
    assert found == PutativeTargets()


@pytest.mark.parametrize(
    "filename, name",
    [
        ("Containerfile", "redis"),
        ("nginx.Containerfile", "nginx"),
        ("Containerfile.debug", "debug"),
    ],
)
def test_target_names(filename: str, name: str) -> None:
    assert target_name("uk/redis", filename) == name


REDIS = {
    "uk/redis/Containerfile": (
        "FROM scratch\n"
        "COPY test-redis.hvt /unikernel/\n"
        "COPY conf/ /conf/\n"
        "COPY app[^b].hvt owned.txt /\n"
    ),
    "uk/redis/test-redis.hvt": "k",
    "uk/redis/conf/redis.conf": "c",
    "uk/redis/conf/sub/extra.conf": "e",
    "uk/redis/appa.hvt": "a",
    "uk/redis/appb.hvt": "b",  # `[^b]` leaves it out (Go's path.Match, as the build)
    "uk/redis/notes.txt": "not copied",
    "uk/redis/owned.txt": "o",
    "uk/redis/BUILD": 'files(name="owned", sources=["owned.txt"])',
}


def propose(rule_runner: RuleRunner, owned: List[str]) -> PutativeTargets:
    return rule_runner.request(
        PutativeTargets,
        [PutativeUnikernelTargetsRequest(("uk/redis",)), AllOwnedSources(owned)],
    )


def test_a_files_target_for_the_copy_sources_nothing_owns(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(REDIS)
    found = propose(rule_runner, ["uk/redis/owned.txt"])
    taken = ("appa.hvt", "conf/redis.conf", "conf/sub/extra.conf", "test-redis.hvt")
    assert found == PutativeTargets(
        [
            PutativeTarget.for_target_type(
                UnikernelImageTarget, "uk/redis", "redis", ["Containerfile"]
            ),
            PutativeTarget.for_target_type(
                FilesGeneratorTarget,
                "uk/redis",
                "context",
                taken,
                kwargs={"sources": taken},
                comments=["# The files the COPY instructions take (build context)."],
            ),
        ]
    )


def test_the_proposed_targets_build_a_linked_context(rule_runner: RuleRunner) -> None:
    """Write what tailor proposes into the BUILD file: inference links the image to it."""
    rule_runner.write_files(REDIS)
    proposed = propose(rule_runner, ["uk/redis/owned.txt"])
    stanzas = [t.generate_build_file_stanza("    ") for t in proposed]
    rule_runner.write_files({"uk/redis/BUILD": REDIS["uk/redis/BUILD"] + "\n" + "".join(stanzas)})
    target = rule_runner.get_target(Address("uk/redis", target_name="redis"))
    result = rule_runner.request(
        InferredDependencies,
        [InferUnikernelImageDependencies(UnikernelInferenceFieldSet.create(target))],
    )
    assert sorted((a.filename, a.target_name) for a in result.include) == [
        ("uk/redis/appa.hvt", "context"),
        ("uk/redis/conf/redis.conf", "context"),
        ("uk/redis/conf/sub/extra.conf", "context"),
        ("uk/redis/owned.txt", "owned"),
        ("uk/redis/test-redis.hvt", "context"),
    ]
    # Everything is owned now: tailor proposes nothing more.
    taken = ("appa.hvt", "conf/redis.conf", "conf/sub/extra.conf", "test-redis.hvt")
    owned = ["uk/redis/Containerfile", "uk/redis/owned.txt", *(f"uk/redis/{t}" for t in taken)]
    assert propose(rule_runner, owned) == PutativeTargets()


def test_an_unreadable_containerfile_still_gets_its_image(rule_runner: RuleRunner) -> None:
    rule_runner.write_files({"uk/redis/Containerfile": "COPY a /a\n", "uk/redis/a": "a"})
    found = propose(rule_runner, [])
    assert [t.type_alias for t in found] == ["unikernel_image"]
