"""The layers of the architecture (README, Architecture): each package imports only the ones
below it. Read from the source files' import statements (lazy imports inside functions count
too), so a new import that breaks a layer fails here."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, Tuple

import pytest

import pun

SOURCE = Path(pun.__file__).parent

# package -> the pun modules it must not import (a prefix matches the module and its children)
FORBIDDEN = {
    "solve": ("pun.api", "pun.containerfile", "pun.convert", "pun.cli", "pun.frontend"),
    "oci": ("pun.solve", "pun.api", "pun.containerfile", "pun.convert", "pun.cli", "pun.frontend"),
    "llb": ("pun.solve", "pun.oci", "pun.cli", "pun.api", "pun.frontend"),
    "containerfile": ("pun.solve", "pun.oci", "pun.cli", "pun.frontend"),
}


def _imports(path: Path) -> Iterator[Tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module


def _matches(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_only_the_layers_below_it(package: str) -> None:
    files = sorted((SOURCE / package).rglob("*.py"))
    assert files, f"pun/{package}/ has no modules"
    bad = [
        f"{path.relative_to(SOURCE.parent)}:{line}: imports {module}"
        for path in files
        for line, module in _imports(path)
        if any(_matches(module, prefix) for prefix in FORBIDDEN[package])
    ]
    assert bad == []


# `python -m pun` (pun/__main__.py) is an entry point like the CLI itself, above everything.
ENTRY_POINTS = (("cli",), ("__main__.py",))


def test_the_cli_package_is_not_imported_below_it() -> None:
    bad = [
        f"{path.relative_to(SOURCE.parent)}:{line}: imports {module}"
        for path in sorted(SOURCE.rglob("*.py"))
        if path.relative_to(SOURCE).parts[:1] not in ENTRY_POINTS
        for line, module in _imports(path)
        if _matches(module, "pun.cli")
    ]
    assert bad == []


def test_the_generated_llb_code_is_imported_only_by_pun_llb_and_the_frontend_bridge() -> None:
    # Readers decode Definition bytes through pun.llb.definition (README, Architecture).
    allowed = {"llb", "frontend/bridge.py"}
    bad = [
        f"{path.relative_to(SOURCE.parent)}:{line}"
        for path in sorted(SOURCE.rglob("*.py"))
        if "pb" not in path.relative_to(SOURCE).parts
        and path.relative_to(SOURCE).parts[0] not in allowed
        and str(path.relative_to(SOURCE)) not in allowed
        for line, module in _imports(path)
        if _matches(module, "pun.llb.pb")
    ]
    assert bad == []
