"""TEMPORARY smoke test (build setup): pants.testutil works and the plugin registers.

Replace with real plugin tests when src/python/pun_rules has rules.
"""

from __future__ import annotations

from pants.testutil.rule_runner import RuleRunner

from pun_rules import register


def test_plugin_registers_with_rule_runner() -> None:
    rule_runner = RuleRunner(
        rules=list(register.rules()), target_types=list(register.target_types())
    )
    rule_runner.write_files({"BUILD": ""})
    assert rule_runner.build_root
