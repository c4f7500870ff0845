"""`pun build --image-archive REF=FILE`: FROM and COPY --from images read from an OCI archive
pun built before, with no registry (the names point at Docker Hub, which is never asked:
the blob cache starts empty). skopeo reads the results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

from pun_testing.building import pun_build
from pun_testing.tools import require, run
from pun_testing.trees import write_context


def build(tmp_path: Path, name: str, containerfile: str, *extra: str) -> Path:
    context = write_context(tmp_path / name, {"kernel": f"kernel of {name}\n"})
    (context / "Containerfile").write_text(containerfile)
    archive = tmp_path / f"{name}.oci.tar"
    result = pun_build(
        [
            "--context",
            str(context),
            "--progress=quiet",
            *extra,
            "--output",
            f"type=oci,dest={archive}",
        ],
        tmp_path / f"cache-{name}",
    )
    assert result.code == 0, result.err
    return archive


def inspect(archive: Path, *flags: str) -> Dict[str, Any]:
    return dict(
        json.loads(run([require("skopeo"), "inspect", *flags, f"oci-archive:{archive}"]).stdout)
    )


def test_from_and_copy_from_an_archive(tmp_path: Path) -> None:
    base = build(tmp_path, "base", "FROM scratch\nCOPY kernel /k\nENV B=1\nLABEL base=yes\n")
    digest = inspect(base)["Digest"]
    ref = f"examples/base:1@{digest}"
    derived = build(
        tmp_path,
        "derived",
        f"FROM {ref}\nCOPY --from=examples/base:1 /k /copied\nCOPY kernel /own\n",
        f"--image-archive={ref}={base}",
        f"--image-archive=examples/base:1={base}",
    )
    config = inspect(derived, "--config")
    assert config["config"]["Labels"]["base"] == "yes" and "B=1" in config["config"]["Env"]
    base_layers = inspect(base, "--raw")["layers"]
    assert inspect(derived, "--raw")["layers"][: len(base_layers)] == base_layers
    out = tmp_path / "rootfs"
    context = tmp_path / "derived"
    result = pun_build(
        [
            "--context",
            str(context),
            "--progress=quiet",
            f"--image-archive={ref}={base}",
            f"--image-archive=examples/base:1={base}",
            "--output",
            f"type=local,dest={out}",
        ],
        tmp_path / "cache-local",
    )
    assert result.code == 0, result.err
    assert (out / "k").read_text() == "kernel of base\n"
    assert (out / "copied").read_text() == "kernel of base\n"
    assert (out / "own").read_text() == "kernel of derived\n"


def test_a_pinned_digest_must_be_the_archives(tmp_path: Path) -> None:
    base = build(tmp_path, "base", "FROM scratch\nCOPY kernel /k\n")
    wrong = "sha256:" + "0" * 64
    context = write_context(tmp_path / "d", {})
    (context / "Containerfile").write_text(f"FROM examples/base@{wrong}\n")
    result = pun_build(
        [
            "--context",
            str(context),
            f"--image-archive=examples/base@{wrong}={base}",
            "--output",
            f"type=oci,dest={tmp_path / 'd.tar'}",
        ],
        tmp_path / "cache-d",
    )
    assert result.code == 1 and not (tmp_path / "d.tar").exists()
    assert f"is pinned to {wrong}" in result.err and "Traceback" not in result.err
