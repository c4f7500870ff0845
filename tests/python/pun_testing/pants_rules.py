"""A RuleRunner with the pun plugin and the backends its examples use, configured like this repo.

Pants would download `pex` from GitHub; like ./pants, the RuleRunner uses the PEX that ./pants
builds into .pants-bootstrap/ (pinned in pants.toml), and finds CPython 3.9 through this test's
own interpreter. Only tests that build the pun tool PEX need that (`offline_options`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

import toml  # pants: no-infer-dep (pantsbuild.pants depends on it)
from pants.backend.adhoc import adhoc_tool
from pants.backend.adhoc.target_types import AdhocToolTarget
from pants.backend.python.util_rules import pex
from pants.backend.shell.target_types import ShellCommandTarget, ShellSourcesGeneratorTarget
from pants.backend.shell.util_rules import shell_command
from pants.core.goals import package, publish, tailor
from pants.core.target_types import (
    ArchiveTarget,
    FilesGeneratorTarget,
    FileTarget,
    ResourcesGeneratorTarget,
    ResourceTarget,
)
from pants.core.target_types import rules as core_target_types_rules
from pants.core.util_rules import external_tool, source_files, system_binaries
from pants.testutil.rule_runner import RuleRunner

from pun_rules import register
from pun_testing.shared import buildroot
from pun_testing.tools import unavailable

TARGET_TYPES = [
    *register.target_types(),
    FileTarget,
    FilesGeneratorTarget,
    ResourceTarget,
    ResourcesGeneratorTarget,
    ArchiveTarget,
    ShellCommandTarget,
    ShellSourcesGeneratorTarget,
    AdhocToolTarget,
]


def plugin_rules() -> List[Any]:
    return [
        *register.rules(),
        *core_target_types_rules(),
        *source_files.rules(),
        *shell_command.rules(),
        *adhoc_tool.rules(),
        *package.rules(),
        *publish.rules(),
        *tailor.rules(),
        *pex.rules(),
        *external_tool.rules(),
        *system_binaries.rules(),
    ]


def new_rule_runner(extra_rules: List[Any]) -> RuleRunner:
    rule_runner = RuleRunner(rules=[*plugin_rules(), *extra_rules], target_types=TARGET_TYPES)
    configure(rule_runner)
    return rule_runner


def configure(
    rule_runner: RuleRunner, args: Iterable[str] = (), env: Optional[Dict[str, str]] = None
) -> None:
    """Options for the next requests; PATH is inherited (shell_command looks up its tools)."""
    rule_runner.set_options(list(args), env=env, env_inherit={"PATH"})


def repo_root() -> Path:
    root = os.environ.get("PUN_BUILDROOT")
    return Path(root) if root else buildroot()


def examples_dir() -> Path:
    """examples/ next to the sources under test (in a Pants sandbox: its copy of them)."""
    root = Path(register.__file__).resolve().parents[3]
    examples = root / "examples"
    assert (examples / "rumprun-redis" / "BUILD").is_file(), f"no examples/ at {root}"
    return examples


def offline_options() -> List[str]:
    """[pex-cli], [subprocess-environment] and [python] as in this repo's pants.toml."""
    root = repo_root()
    config: Dict[str, Any] = toml.load(root / "pants.toml")
    pex_cli = config["pex-cli"]
    pex_file = root / ".pants-bootstrap" / f"pex-{pex_cli['version']}.pex"
    if not pex_file.is_file():
        unavailable(f"{pex_file} is missing (./pants builds it: run ./pants --version once)")
    url = pex_cli["url_template"].replace("%(buildroot)s", str(root))
    interpreter_dir = os.path.dirname(os.path.realpath(sys.executable))
    return [
        f"--pex-cli-version={pex_cli['version']}",
        f"--pex-cli-known-versions={pex_cli['known_versions']!r}",
        f"--pex-cli-url-template={url}",
        "--subprocess-environment-env-vars=['PIP_CONFIG_FILE=/dev/null', 'SSL_CERT_FILE']",
        "--python-interpreter-constraints=['CPython==3.9.*']",
        f"--python-bootstrap-search-path=['{interpreter_dir}']",
    ]


def offline_env() -> Dict[str, str]:
    keep = ("PATH", "HOME", "SSL_CERT_FILE", "XDG_CACHE_HOME")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.setdefault("PATH", os.defpath)
    return env
