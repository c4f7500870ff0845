"""No test can quietly skip in CI what .ci/run provides, and .ci/run leaves no daemon behind.

The judges CI installs and starts (Docker Engine, the registry, skopeo, umoci, QEMU, a real
BuildKit, BuildKit's parser, BuildGrid) are reached through `pun_testing.tools.unavailable`
(and `pun_testing.buildkit`), which skips locally and fails under CI=true. A `skipif` mark is
decided at collection, outside that rule: the standalone-BuildKit half of the oracle corpus
once skipped its 400 cases that way wherever BUILDCTL was unset, CI included. So the test
tree has no `skipif`, and `pytest.skip` only in `unavailable` and the cases listed here, each
about something CI also has (root, a Pants sandbox).
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path
from typing import Iterator, List, Tuple

# (file below tests/python, reason text it skips with): conditions CI meets (it runs as root,
# through ./pants test), so these never skip there.
ALLOWED_SKIPS = {
    ("pun_testing/tools.py", "reason"),  # unavailable(): pytest.fail under CI=true
    ("pun/test_pex_launch.py", "run through ./pants test"),
    ("pun/solve/test_copy_semantics.py", "owners are only written by root"),
    ("pun_rules/test_frontend_image.py", "chroot needs root"),
}


def tree_root() -> Path:
    root = os.environ.get("PUN_BUILDROOT")  # in a Pants sandbox: the checkout's files
    here = Path(root) / "tests" / "python" if root else Path(__file__).resolve().parents[1]
    assert (here / "pun_testing" / "tools.py").is_file(), f"no test tree at {here}"
    return here


def skips(tree: ast.AST) -> Iterator[Tuple[str, int, str]]:
    """("skipif" | "skip", line, the call's first argument as text) for every use."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "skipif":
            yield "skipif", node.lineno, ""
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("skip", "importorskip")
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "pytest"
        ):
            first = node.args[0] if node.args else None
            text = first.value if isinstance(first, ast.Constant) else ast.unparse(first or node)
            yield node.func.attr, node.lineno, str(text)


def test_no_test_skips_outside_the_ci_rule() -> None:
    root = tree_root()
    found: List[str] = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        for kind, line, text in skips(ast.parse(path.read_text(), str(path))):
            if kind == "skip" and any(
                relative == f and text.startswith(prefix) for f, prefix in ALLOWED_SKIPS
            ):
                continue
            found.append(f"{relative}:{line}: " + (f"pytest.{kind}({text!r})" if text else kind))
    assert not found, (
        "skips that CI=true would not turn into failures (use pun_testing.tools.unavailable, "
        "or pun_testing.buildkit for BuildKit):\n" + "\n".join(found)
    )


def test_the_guard_sees_a_skipif() -> None:
    # The guard itself must be able to fail: the old corpus test's shape is caught.
    source = (
        "import os, pytest\n"
        "BUILDKIT = os.environ.get('BUILDCTL', '')\n"
        "@pytest.mark.skipif(not BUILDKIT, reason='opt-in')\n"
        "def test_x(): pass\n"
    )
    assert [kind for kind, _, _ in skips(ast.parse(source))] == ["skipif"]


def test_ci_stops_every_daemon_it_starts_however_it_exits() -> None:
    """.ci/run's EXIT trap is set before the first daemon goes to the background (a step that
    fails later must not leave dockerd or buildkitd running) and calls every stop_* it has."""
    lines = (tree_root().parents[1] / ".ci" / "run").read_text().splitlines()
    code = [line.split("#", 1)[0].rstrip() for line in lines]
    trap = next(i for i, line in enumerate(code) if line.startswith("trap ") and "EXIT" in line)
    started = [i for i, line in enumerate(code) if line.endswith(" &")]
    assert started and trap < min(started), f"trap at line {trap + 1}, daemons at {started}"
    stops = {line.split("(")[0] for line in code if re.match(r"^stop_\w+\(\) \{", line)}
    assert stops and all(stop in code[trap] for stop in stops), (code[trap], stops)
