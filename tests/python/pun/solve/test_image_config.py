"""The image config `pun build` writes over a base image: what is inherited (how the image runs,
not how the base was built), what a caller sets over it, and the layer bookkeeping."""

from __future__ import annotations

import json
from typing import Any, Dict

from pun.platform import Platform
from pun.solve.image import BaseImage, image_config
from pun.solve.layers import Blob, Layer

BASE_CONFIG: Dict[str, Any] = {
    "architecture": "amd64",
    "os": "linux",
    "config": {
        "Hostname": "3f1c2b",  # container state of the base's own build: not inherited
        "Image": "sha256:1111",
        "Env": ["PATH=/usr/bin"],
        "Entrypoint": None,  # null in the base: absent in ours
        "Cmd": ["/bin/sh"],
        "WorkingDir": "/srv",
        "Labels": {"org.example.base": "yes", "shared": "base"},
    },
    "rootfs": {"type": "layers", "diff_ids": ["sha256:aaaa"]},
    "history": [{"created_by": "base layer"}],
}

LAYER = Layer(Blob("sha256:bbbb", 10, "application/vnd.oci.image.layer.v1.tar+gzip", "/x"),
              "sha256:cccc", "COPY app /app")


def config_over_base(**kwargs: Any) -> Dict[str, Any]:
    base = BaseImage("example/base:1", "sha256:9999", json.dumps(BASE_CONFIG).encode(), ())
    data = image_config(base, [LAYER], {"shared": "ours", "k": "v"},
                        Platform("linux", "amd64"), 0, **kwargs)
    value: Dict[str, Any] = json.loads(data)
    return value


def test_only_the_run_settings_of_the_base_are_inherited() -> None:
    config = config_over_base()
    assert config["config"] == {
        "Env": ["PATH=/usr/bin"],
        "Cmd": ["/bin/sh"],
        "WorkingDir": "/srv",
        "Labels": {"org.example.base": "yes", "shared": "ours", "k": "v"},
    }
    assert config["rootfs"] == {"type": "layers", "diff_ids": ["sha256:aaaa", "sha256:cccc"]}
    assert [h["created_by"] for h in config["history"]] == ["base layer", "COPY app /app"]


def test_run_config_goes_over_the_base() -> None:
    config = config_over_base(run_config={"Entrypoint": ["/app"], "WorkingDir": "/"})
    assert config["config"]["Entrypoint"] == ["/app"]
    assert config["config"]["WorkingDir"] == "/"
    assert config["config"]["Cmd"] == ["/bin/sh"]
    assert "Hostname" not in config["config"]


def test_without_a_base_only_what_is_given() -> None:
    data = image_config(None, [LAYER], {}, Platform("linux", "arm64"), 0,
                        run_config={"Entrypoint": ["/app"]})
    config = json.loads(data)
    assert config["config"] == {"Entrypoint": ["/app"]}
    assert (config["os"], config["architecture"]) == ("linux", "arm64")
    assert config["created"] == "1970-01-01T00:00:00Z"
