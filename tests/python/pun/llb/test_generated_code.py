"""The checked-in *_pb2 files are exactly what protoc makes of src/protos (never hand-edited)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pun_testing.shared import buildroot


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    root = buildroot()
    protos = sorted(str(p.relative_to(root / "src" / "protos")) for p in (root / "src" / "protos").rglob("*.proto"))
    assert protos, "no .proto files found"
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-I", "src/protos", f"--python_out={tmp_path}",
         f"--pyi_out={tmp_path}", *protos],
        cwd=root,
        check=True,
    )
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*_pb2.py*"))
    assert generated
    for relative in generated:
        checked_in = root / "src" / "python" / relative
        assert checked_in.read_text() == (tmp_path / relative).read_text(), (
            f"{checked_in} is stale: run build-support/regenerate-protos"
        )
