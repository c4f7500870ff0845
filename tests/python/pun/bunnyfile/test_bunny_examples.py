"""bunny's own bunnyfiles (tests/data/bunny: its README and examples) through pun.

Two judges: the urunc labels each must get, stated here from bunny's rules (`hops/package.go`
`ToPack`/`SetAnnotations`), and what bunny itself made of the same file (`expected/bunny.json`,
recorded by running bunny's code; `expected/rootfs.txt`, a real BuildKit building bunny's LLB).
The cases that need no registry are built by `pun build` and read back by skopeo and umoci.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any, Dict

import pytest

from pun.api import GenerateOptions, generate, read_plan
from pun.containerfile.plan import PackPlan
from pun.diagnostics import PunError
from pun.imagespec import SetCmd, SetEntrypoint, SetEnv
from pun_testing.building import pun_build
from pun_testing.rootfs import listing, umoci_rootfs, writable_copy
from pun_testing.shared import BUNNY
from pun_testing.tools import require

P = "com.urunc.unikernel."

# The labels bunny's rules give each file (unikernelType = framework, hypervisor = monitor,
# binary = /.boot/kernel when the kernel is copied, else kernel.path; cmdline = cmd joined;
# mountRootfs "true" only for raw; initrd = /.boot/rootfs for a copied or built initrd).
EXPECTED: Dict[str, Dict[str, str]] = {
    "readme-trying-it-out": {
        "unikernelType": "unikraft",
        "hypervisor": "qemu",
        "binary": "/.boot/kernel",
        "cmdline": "/server",
        "unikernelVersion": "0.17.0",
        "mountRootfs": "false",
        "initrd": "/.boot/rootfs",
    },
    "chttp-unikraft": {
        "unikernelType": "unikraft",
        "hypervisor": "qemu",
        "binary": "/unikraft/bin/kernel",
        "cmdline": "/chttp",
        "unikernelVersion": "0.18.0",
        "mountRootfs": "false",
        "initrd": "/.boot/rootfs",
    },
    "nginx-unikraft": {
        "unikernelType": "unikraft",
        "hypervisor": "qemu",
        "binary": "/.boot/kernel",
        "cmdline": "-c /nginx/conf/nginx.conf",
        "mountRootfs": "false",
    },
    "redis-rumprun": {
        "unikernelType": "rumprun",
        "hypervisor": "hvt",
        "binary": "/.boot/kernel",
        "cmdline": "redis-server /data/conf/redis.conf",
        "mountRootfs": "true",
    },
}
BUILDABLE = ["readme-trying-it-out", "redis-rumprun"]


def text(case: str) -> str:
    return (BUNNY / case / "bunnyfile").read_text()


def plan(case: str) -> PackPlan:
    return read_plan(text(case), GenerateOptions(path="bunnyfile"))


def recorded(case: str) -> Dict[str, Any]:
    data: Dict[str, Any] = json.loads((BUNNY / case / "expected" / "bunny.json").read_text())
    return data


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_labels_are_bunny_s(case: str) -> None:
    labels = {k: v for k, v in plan(case).label_values().items()}
    assert labels == {P + k: v for k, v in EXPECTED[case].items()}
    # bunny itself: the same, except the empty values it writes (nginx: `initrd: ""`), which
    # pun leaves out (urunc reads an empty value as unset)
    bunny = {k: v for k, v in recorded(case)["annotations"].items() if v}
    assert labels == bunny


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_base_copies_and_config_are_bunny_s(case: str) -> None:
    made, bunny = plan(case), recorded(case)
    base = None if made.base.reference is None else str(made.base.reference)
    assert base == {"": None, "scratch": None}.get(bunny["base"], f"{bunny['base']}")
    # bunny's copies (a raw rootfs's includes are its base state, not copies)
    placed = {c.dest: c.sources[0] for c in made.copies}
    if made.rootfs is not None:
        placed[made.rootfs.path] = made.rootfs.path
    assert {dst: src for src, dst in bunny["copies"]}.items() <= placed.items()
    steps = made.config
    cmd = [s.args for s in steps if isinstance(s, SetCmd)]
    assert cmd == ([tuple(bunny["cmd"])] if bunny["cmd"] else [])
    assert [s.args for s in steps if isinstance(s, SetEntrypoint)] == (
        [tuple(bunny["entrypoint"])] if bunny["entrypoint"] else []
    )
    assert [f"{s.key}={s.value}" for s in steps if isinstance(s, SetEnv)] == (bunny["env"] or [])


def test_the_readme_reference_is_refused_at_the_include_line() -> None:
    bunny_says = recorded("readme-reference")["error"]
    assert "Invalid combination of includes and from fields" in bunny_says
    with pytest.raises(PunError) as caught:
        plan("readme-reference")
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.path, diagnostic.line) == ("bunnyfile", 15)  # `- src:dst`
    assert "rootfs.include cannot be combined with rootfs.from: local" in diagnostic.message


def test_chttp_plans_an_initrd_from_its_include() -> None:
    made = plan("chttp-unikraft")
    assert str(made.base.reference) == "unikraft.org/base:latest"
    assert made.rootfs is not None and made.rootfs.kind == "initrd"
    assert [(i.source, i.dest) for i in made.rootfs.includes] == [("chttp", "/chttp")]
    assert made.copy_sources() == ("chttp",)


def test_nginx_plans_the_kernel_copied_out_of_its_image() -> None:
    made = plan("nginx-unikraft")
    assert made.base.reference is None
    assert [(c.sources, c.dest, c.image) for c in made.copies] == [
        (("/unikraft/bin/kernel",), "/.boot/kernel", "unikraft.org/nginx:1.15")
    ]
    assert made.copy_sources() == ()


def test_chttp_generates_its_initrd_copy() -> None:
    """The initrd pun makes (pun.rootfs) is copied from the `pun-rootfs` local to bunny's path."""
    made = generate(text("chttp-unikraft"), GenerateOptions(path="bunnyfile"))
    assert made.plan.rootfs is not None and made.plan.rootfs.path == "/.boot/rootfs"
    assert b"pun-rootfs" in made.definition and b"/.boot/rootfs" in made.definition


def test_a_kernel_from_an_image_is_copied_out_of_it() -> None:
    """`kernel.from: <image>` is a COPY --from (pun.convert): the image is a second source,
    pulled for unikraft.org's hypervisor platform (qemu/amd64), as FROM would be."""
    made = generate(text("nginx-unikraft"), GenerateOptions(path="bunnyfile"))
    assert b"docker-image://unikraft.org/nginx:1.15" in made.definition
    assert b"/unikraft/bin/kernel" in made.definition
    assert b"qemu" in made.definition


@pytest.mark.parametrize("case", BUILDABLE)
def test_pun_build_makes_bunny_s_files(case: str, tmp_path: Path) -> None:
    context = writable_copy(BUNNY / case, tmp_path / "context")
    out = tmp_path / "rootfs"
    done = pun_build(
        [
            "-f",
            str(context / "bunnyfile"),
            "--context",
            str(context),
            "--output",
            f"type=local,dest={out}",
        ],
        tmp_path / "cache",
    )
    assert done.code == 0, done.err
    expected = (BUNNY / case / "expected" / "rootfs.txt").read_text().splitlines()
    assert listing(out) == expected  # urunc.json included: the same bytes as bunny's


@pytest.mark.parametrize("case", BUILDABLE)
def test_the_image_carries_the_annotations_and_config(case: str, tmp_path: Path) -> None:
    skopeo = require("skopeo")
    context = writable_copy(BUNNY / case, tmp_path / "context")
    archive = tmp_path / "image.oci.tar"
    done = pun_build(
        [
            "-f",
            str(context / "bunnyfile"),
            "--context",
            str(context),
            "--output",
            f"type=oci,dest={archive}",
        ],
        tmp_path / "cache",
    )
    assert done.code == 0, done.err
    labels = {P + k: v for k, v in EXPECTED[case].items()}
    manifest = json.loads(
        subprocess.run(
            [skopeo, "inspect", "--raw", f"oci-archive:{archive}"], capture_output=True, check=True
        ).stdout
    )
    assert manifest["annotations"] == labels
    config = json.loads(
        subprocess.run(
            [skopeo, "inspect", "--config", f"oci-archive:{archive}"],
            capture_output=True,
            check=True,
        ).stdout
    )
    assert (config["os"], config["architecture"]) == ("linux", "amd64")  # architecture: x86
    assert config["config"]["Labels"] == labels
    assert config["config"]["Cmd"] == recorded(case)["cmd"]
    umoci_rootfs(archive, tmp_path, rootless=True)
    urunc = json.loads((tmp_path / "bundle" / "rootfs" / "urunc.json").read_bytes())
    assert {k: base64.b64decode(v).decode() for k, v in urunc.items()} == labels
