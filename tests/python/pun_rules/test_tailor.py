"""`pants tailor` (RuleRunner): one unikernel_image per Containerfile that nothing owns yet."""

from __future__ import annotations

import pytest
from pants.core.goals.tailor import AllOwnedSources, PutativeTarget, PutativeTargets
from pants.testutil.rule_runner import QueryRule, RuleRunner
from pun_testing.pants_rules import configure, new_rule_runner

from pun_rules.goals.tailor import PutativeUnikernelTargetsRequest, target_name
from pun_rules.target_types import UnikernelImageTarget


@pytest.fixture
def rule_runner() -> RuleRunner:
    return new_rule_runner(
        [QueryRule(PutativeTargets, [PutativeUnikernelTargetsRequest, AllOwnedSources])]
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
