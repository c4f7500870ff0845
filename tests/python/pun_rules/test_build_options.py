"""Build-option fields (target_types.PunBuildOptionField): a field of `unikernel_image` that is
a `pun build` option is declared once. Shown with a field registered the way a plugin adds one
(`register_plugin_field`): with no other change it reaches the build process's flags and
`{pants.hash}`."""

from __future__ import annotations

from textwrap import dedent
from typing import Any, Iterator

import pytest
from pants.engine.addresses import Address
from pants.engine.target import IntField
from pants.testutil.rule_runner import QueryRule, RuleRunner

from pun_rules.field_sets import UnikernelImageFieldSet
from pun_rules.target_types import PunBuildOptionField, UnikernelImageTarget
from pun_rules.util_rules.build_request import UnikernelBuildRequest
from pun_testing.pants_rules import new_rule_runner


class ExampleLevelField(IntField, PunBuildOptionField):
    alias = "example_level"
    hash_key = "example_level"
    help = "A build option only this test has."

    def pun_build_flags(self) -> Iterator[str]:
        if self.value is not None:
            yield f"--example-level={self.value}"

    def hash_value(self) -> Any:
        return self.value


@pytest.fixture
def rule_runner() -> RuleRunner:
    return new_rule_runner(
        [
            QueryRule(UnikernelBuildRequest, [UnikernelImageFieldSet]),
            UnikernelImageTarget.register_plugin_field(ExampleLevelField),
        ]
    )


def prepare(rule_runner: RuleRunner, fields: str) -> UnikernelBuildRequest:
    rule_runner.write_files(
        {
            "uk/BUILD": f'files(name="bin", sources=["app.hvt"])\n'
            f'unikernel_image(name="img", {fields})\n',
            "uk/Containerfile": dedent(
                """\
                FROM scratch
                COPY app.hvt /unikernel/app.hvt
                LABEL com.urunc.unikernel.binary=/unikernel/app.hvt
                LABEL com.urunc.unikernel.unikernelType="rumprun"
                LABEL com.urunc.unikernel.hypervisor="hvt"
                """
            ),
            "uk/app.hvt": "kernel",
        }
    )
    target = rule_runner.get_target(Address("uk", target_name="img"))
    return rule_runner.request(UnikernelBuildRequest, [UnikernelImageFieldSet.create(target)])


def test_the_declared_options_become_flags_in_alias_order(rule_runner: RuleRunner) -> None:
    request = prepare(rule_runner, 'squash=True, annotations={"b": "2", "a": "1"}')
    assert request.build_options == ("--annotation=a=1", "--annotation=b=2", "--squash")
    assert prepare(rule_runner, "").build_options == ()


def test_a_plugin_field_reaches_the_flags_and_the_hash(rule_runner: RuleRunner) -> None:
    plain = prepare(rule_runner, "")
    three = prepare(rule_runner, "example_level=3")
    assert three.build_options == ("--example-level=3",)
    assert three.pants_hash != plain.pants_hash
    assert prepare(rule_runner, "example_level=3").pants_hash == three.pants_hash
