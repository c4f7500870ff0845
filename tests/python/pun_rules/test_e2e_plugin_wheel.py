"""End to end: the plugin installed from its wheel, as another repository would use it.

The `pun` and `pun-pants` wheels (packaged by Pants for this test) sit in a find-links directory;
the scratch repository names `pun-pants==0.1.0` in `[GLOBAL].plugins` and has no path to this
source tree. A real `./pants package` then builds a unikernel image that skopeo reads.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pun_testing.scratch_repo import make_scratch_repo
from pun_testing.tools import require, run, unavailable

WHEELS = ("pun-0.1.0-py3-none-any.whl", "pun_pants-0.1.0-py3-none-any.whl")
CONTAINERFILE = """\
FROM scratch
COPY app.hvt /unikernel/app.hvt
LABEL com.urunc.unikernel.binary=/unikernel/app.hvt
LABEL com.urunc.unikernel.unikernelType=rumprun com.urunc.unikernel.hypervisor=hvt
"""


def test_plugin_from_its_wheel_packages_an_image(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for name in WHEELS:  # put in the sandbox by runtime_package_dependencies (BUILD)
        if not Path(name).is_file():
            unavailable(f"{name} is missing: run this test through ./pants (it packages it)")
        shutil.copy2(name, wheels / name)
    repo = make_scratch_repo(
        tmp_path / "repo",
        files={
            "uk/BUILD": 'files(name="bin", sources=["app.hvt"])\nunikernel_image(name="img")\n',
            "uk/Containerfile": CONTAINERFILE,
            "uk/app.hvt": "kernel\n",
        },
        wheels=wheels,
    )
    assert "pythonpath" not in (repo.root / "pants.toml").read_text()

    repo.pants("package", "uk:img").check()

    described = json.loads(repo.read_bytes("dist/uk/img.image.json"))
    archive = repo.root / "dist" / "uk" / "img.oci.tar"
    inspected = json.loads(run([require("skopeo"), "inspect", f"oci-archive:{archive}"]).stdout)
    assert inspected["Digest"] == described["digest"]
    assert inspected["Labels"]["com.urunc.unikernel.hypervisor"] == "hvt"
