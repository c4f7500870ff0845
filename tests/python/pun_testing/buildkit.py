"""A real BuildKit for tests: `BUILDCTL` (the client) and `BUILDKIT_HOST` (a running buildkitd).

CI's .ci/run builds both (build-support/install-buildkit) and starts buildkitd, so under
CI=true a missing or silent BuildKit fails the test; elsewhere it skips with the reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List

import pytest

from pun_testing.tools import require, run, unavailable

HOW = (
    "build-support/install-buildkit, start buildkitd, then set BUILDCTL and BUILDKIT_HOST "
    "(see the README's BuildKit section)"
)


@dataclass(frozen=True)
class BuildKit:
    buildctl: str
    host: str

    def argv(self, *args: str) -> List[str]:
        return [self.buildctl, "--addr", self.host, *args]


def require_buildkit() -> BuildKit:
    buildctl, host = os.environ.get("BUILDCTL"), os.environ.get("BUILDKIT_HOST")
    if not buildctl or not host:
        unavailable(f"no BuildKit: BUILDCTL and BUILDKIT_HOST are not both set ({HOW})")
    assert buildctl is not None and host is not None
    buildkit = BuildKit(require(buildctl), host)
    answer = run(buildkit.argv("debug", "workers"), timeout=60, check=False)
    if answer.returncode != 0:
        unavailable(f"BuildKit at {host} does not answer: {answer.stderr.decode().strip()}")
    return buildkit


@pytest.fixture(scope="session")
def buildkit() -> BuildKit:
    return require_buildkit()
