"""A throwaway Pants repository that uses the pun plugin, for end-to-end `./pants` runs.

It reuses this repository's `./pants` launcher, its Pants venv and the offline settings of its
pants.toml ([pex-cli], [subprocess-environment], [python-bootstrap]); the plugin is loaded from
the source tree under test (`[GLOBAL].pythonpath`) and the pun tool PEX comes from the lockfile
the plugin ships, as it would for a user. `PantsRun.builds()` lists the build processes Pants
actually spawned, from Pants' own log of spawned local processes (cache hits spawn nothing).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

import toml  # pants: no-infer-dep (pantsbuild.pants depends on it)

import pun_rules
from pun_testing.pants_rules import examples_dir, repo_root
from pun_testing.tools import unavailable

# Pants' Rust logger prints one line per spawned local process, with its description.
SPAWN_LOG = "--log-levels-by-target={'process_execution::local': 'debug'}"
_SPAWNED = re.compile(r'spawned local process as .*? description: "((?:[^"\\]|\\.)*)"')
_COUNTER = re.compile(r"^\s+([a-z_]+): (\d+)$", re.MULTILINE)
BUILD_PREFIX = "Building unikernel image "
RUN_TIMEOUT_SECONDS = 900.0


@dataclass(frozen=True)
class PantsRun:
    argv: Sequence[str]
    returncode: int
    stdout: str
    stderr: str

    def spawned(self) -> List[str]:
        return _SPAWNED.findall(self.stderr)

    def builds(self) -> List[str]:
        """Addresses of the unikernel images whose build process ran (sorted)."""
        return sorted(d[len(BUILD_PREFIX) :] for d in self.spawned() if d.startswith(BUILD_PREFIX))

    def counters(self) -> Dict[str, int]:
        """`--stats-log` counters (empty unless the run had --stats-log)."""
        return {k: int(v) for k, v in _COUNTER.findall(self.stderr)}

    def check(self) -> "PantsRun":
        if self.returncode != 0:
            raise AssertionError(
                f"{' '.join(self.argv)} failed ({self.returncode}):\n{self.stdout}\n{self.stderr}"
            )
        return self


def _config(root: Path, plugin_path: Path, wheels: Optional[Path]) -> str:
    repo: Dict = toml.load(repo_root() / "pants.toml")
    config: Dict = {
        "GLOBAL": {
            "pants_version": repo["GLOBAL"]["pants_version"],
            "pythonpath": [str(plugin_path)],
            "plugins": repo["GLOBAL"].get("plugins", []),  # none since the pure-Python parser
            "backend_packages": ["pants.backend.shell", "pun_rules"],
            # The same filters: needs-network, and needs-debian-files (examples/linux-hello's
            # Debian files are never copied into a scratch repo).
            "tag": repo["GLOBAL"]["tag"],
            "pants_ignore": {"add": ["/dist*/", "/wheels/"]},
        },
        "python": {"interpreter_constraints": repo["python"]["interpreter_constraints"]},
        "python-bootstrap": repo["python-bootstrap"],
        "pex-cli": repo["pex-cli"],
        "subprocess-environment": repo["subprocess-environment"],
    }
    if wheels is not None:
        # As another repository would: the plugin installed from its wheel, no source path.
        del config["GLOBAL"]["pythonpath"]
        config["GLOBAL"]["plugins"] = ["pun-pants==0.1.0"]
        config["python-repos"] = {"find_links": [f"file://{wheels}"]}
    return toml.dumps(config)


def make_scratch_repo(
    dest: Path, files: Optional[Mapping[str, str]] = None, wheels: Optional[Path] = None
) -> "ScratchRepo":
    """A repository using the plugin from this source tree, or, with `wheels` (a directory
    holding the pun and pun-pants wheels), installed from them like any Pants plugin."""
    source = repo_root()
    pex_cli = toml.load(source / "pants.toml")["pex-cli"]
    pex_file = source / ".pants-bootstrap" / f"pex-{pex_cli['version']}.pex"
    if not pex_file.is_file():
        unavailable(f"{pex_file} is missing (./pants builds it: run ./pants --version once)")
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / "pants", dest / "pants")
    (dest / ".pants-bootstrap").mkdir(exist_ok=True)
    shutil.copy2(pex_file, dest / ".pants-bootstrap" / pex_file.name)
    plugin_path = Path(pun_rules.__file__).resolve().parent.parent
    (dest / "pants.toml").write_text(_config(dest, plugin_path, wheels))
    for path, content in (files or {}).items():
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    return ScratchRepo(dest)


def copy_examples(repo: "ScratchRepo") -> None:
    shutil.copytree(examples_dir(), repo.root / "examples", dirs_exist_ok=True)


@dataclass(frozen=True)
class ScratchRepo:
    root: Path

    def pants(self, *args: str, env: Optional[Mapping[str, str]] = None) -> PantsRun:
        argv = ["./pants", "--no-pantsd", "--no-dynamic-ui", SPAWN_LOG, *args]
        run_env = {**os.environ, "NO_SCIE_WARNING": "1", **(env or {})}
        run_env.pop("PANTS_CONFIG_FILES", None)
        done = subprocess.run(
            argv,
            cwd=self.root,
            env=run_env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_SECONDS,
            check=False,
        )
        return PantsRun(argv, done.returncode, done.stdout, done.stderr)

    def write(self, path: str, content: str) -> None:
        (self.root / path).parent.mkdir(parents=True, exist_ok=True)
        (self.root / path).write_text(content)

    def read_bytes(self, path: str) -> bytes:
        return (self.root / path).read_bytes()
