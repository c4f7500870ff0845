"""The checked-in generated files are exactly what protoc makes of src/protos (never hand-edited).

Covers the message code (*_pb2.py, *_pb2.pyi) of every .proto and the gRPC stubs
(*_pb2_grpc.py) of the ones that declare a service, as build-support/regenerate-protos does.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import List

from pun_testing.shared import buildroot

_GENERATED_GLOBS = ("*_pb2.py", "*_pb2.pyi", "*_pb2_grpc.py")


def _protoc(root: Path, out: Path, flags: List[str], protos: List[str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-I", "src/protos", *flags, *protos],
        cwd=root,
        check=True,
    )


def _generated(base: Path) -> List[Path]:
    return sorted(p.relative_to(base) for g in _GENERATED_GLOBS for p in base.rglob(g))


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    root = buildroot()
    proto_root = root / "src" / "protos"
    protos = sorted(str(p.relative_to(proto_root)) for p in proto_root.rglob("*.proto"))
    assert protos, "no .proto files found"
    services = [p for p in protos if "\nservice " in "\n" + (proto_root / p).read_text()]
    _protoc(root, tmp_path, [f"--python_out={tmp_path}", f"--pyi_out={tmp_path}"], protos)
    if services:
        _protoc(root, tmp_path, [f"--grpc_python_out={tmp_path}"], services)
    generated = _generated(tmp_path)
    assert any(p.name.endswith("_pb2_grpc.py") for p in generated) == bool(services)
    for relative in generated:
        checked_in = root / "src" / "python" / relative
        assert checked_in.is_file(), f"{checked_in} is missing: run build-support/regenerate-protos"
        assert (
            checked_in.read_text() == (tmp_path / relative).read_text()
        ), f"{checked_in} is stale: run build-support/regenerate-protos"
    # And nothing generated is left behind from a .proto that is gone.
    leftovers = set(_generated(root / "src" / "python")) - set(generated)
    assert not leftovers, f"generated files without a .proto: {sorted(map(str, leftovers))}"
