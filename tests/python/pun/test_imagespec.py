"""The image config a Containerfile describes, the urunc bridge and the source map.

BUILDKIT_CONFIG is what a real BuildKit v0.32.2 wrote for DOCKERFILE (recorded 2026-12-01 with
`buildctl build --frontend dockerfile.v0 --output type=oci`, the `config` object of the image
config; Docker Engine 20.10's `docker build` + `docker image inspect` gave the same fields).
"""

from __future__ import annotations

import json
from typing import Any, Dict

import pytest

from pun.api import GenerateOptions, generate
from pun.diagnostics import PunError
from pun.imagespec import ImageSpec
from pun.llb.pb import ops_pb2

DOCKERFILE = """\
FROM scratch
ENV A=1 B="two words"
ENV A=3
WORKDIR app
WORKDIR sub
LABEL x=y
COPY a rel
USER 1000:1000
EXPOSE 80 53/udp 8000-8002
STOPSIGNAL SIGINT
VOLUME /data ["/v2"]
ENTRYPOINT ["/bin/app", "-x"]
CMD run fast
SHELL ["/bin/bash", "-c"]
CMD echo $A
"""
BUILDKIT_CONFIG: Dict[str, Any] = {
    "User": "1000:1000",
    "ExposedPorts": {"53/udp": {}, "80/tcp": {}, "8000/tcp": {}, "8001/tcp": {}, "8002/tcp": {}},
    "Env": [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "A=3",
        "B=two words",
    ],
    "Entrypoint": ["/bin/app", "-x"],
    "Cmd": ["/bin/bash", "-c", "echo $A"],
    "Volumes": {"/data": {}, "[/v2]": {}},
    "WorkingDir": "/app/sub",
    "Labels": {"x": "y"},
    "StopSignal": "SIGINT",
    "ArgsEscaped": True,
    "Shell": ["/bin/bash", "-c"],
}
URUNC = (
    "FROM scratch\n"
    "COPY app.hvt /app.hvt\n"
    "LABEL com.urunc.unikernel.binary=/app.hvt com.urunc.unikernel.unikernelType=rumprun\n"
    "LABEL com.urunc.unikernel.hypervisor=hvt\n"
)
ROOTFS_LABELS = (
    'LABEL com.urunc.unikernel.mountRootfs="false" com.urunc.unikernel.useDMBlock="false"\n'
)


def gen(text: str) -> Any:
    return generate(text, GenerateOptions(local_unique_id="x"))


def urunc_json(definition: bytes) -> Dict[str, str]:
    import base64

    for data in getattr(ops_pb2.Definition.FromString(definition), "def"):
        op = ops_pb2.Op.FromString(data)
        for action in op.file.actions:
            if action.WhichOneof("action") == "mkfile" and action.mkfile.path == "/urunc.json":
                raw = json.loads(action.mkfile.data)
                return {k: base64.b64decode(v).decode() for k, v in raw.items()}
    raise AssertionError("no /urunc.json")


def test_config_is_what_buildkit_writes() -> None:
    assert gen(DOCKERFILE).image.config_for(None)["config"] == BUILDKIT_CONFIG


def test_env_pairs_see_the_values_from_before_the_instruction() -> None:
    # Dockerfile reference, "Environment replacement": def gets hello, ghi gets bye.
    text = "FROM scratch\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\n"
    env = gen(text).image.config_for(None)["config"]["Env"]
    assert env[1:] == ["abc=bye", "def=hello", "ghi=bye"]


def test_workdir_creates_its_directory() -> None:
    generated = gen("FROM scratch\nWORKDIR /srv/app\nUSER 7\nWORKDIR data\n")
    mkdirs = []
    for data in getattr(ops_pb2.Definition.FromString(generated.definition), "def"):
        for action in ops_pb2.Op.FromString(data).file.actions:
            if action.WhichOneof("action") == "mkdir":
                mkdir = action.mkdir
                owner = mkdir.owner.user.byID if mkdir.HasField("owner") else None
                mkdirs.append((mkdir.path, mkdir.mode, mkdir.makeParents, owner))
    assert mkdirs == [("/srv/app", 0o755, True, None), ("/srv/app/data", 0o755, True, 7)]


def test_shell_form_warns_with_the_exec_form_to_write() -> None:
    warnings = [w.render() for w in gen("FROM scratch\nENTRYPOINT /app -v\n").warnings]
    assert any(
        "Containerfile:2: warning: ENTRYPOINT in shell form" in w
        and 'write the exec form: ENTRYPOINT ["/app", "-v"]' in w
        for w in warnings
    ), warnings


@pytest.mark.parametrize(
    "line, message",
    [
        ("EXPOSE 80/xyz", "invalid port"),
        ("EXPOSE 9-3", "invalid port"),
        ("STOPSIGNAL SIGNOPE", "invalid signal"),
        ("SHELL /bin/sh -c", "JSON form"),
        ('VOLUME [""]', "empty string"),
    ],
)
def test_bad_config_values_are_one_error_naming_the_line(line: str, message: str) -> None:
    with pytest.raises(PunError) as caught:
        gen(f"FROM scratch\n{line}\n")
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.line == 2 and message in diagnostic.message


def test_cmdline_label_alone_becomes_cmd_split_on_spaces() -> None:
    cmdline = 'LABEL com.urunc.unikernel.cmdline="redis-server  /conf"\n'
    generated = gen(URUNC + cmdline + ROOTFS_LABELS)
    config = generated.image.config_for(None)["config"]
    assert config["Cmd"] == ["redis-server", "", "/conf"]  # Go's strings.Split, as bunny
    assert "Entrypoint" not in config


def test_cmd_alone_gives_the_cmdline_annotation_and_urunc_json() -> None:
    generated = gen(URUNC + 'ENTRYPOINT ["/app.hvt"]\nCMD ["-c", "/etc/x"]\n' + ROOTFS_LABELS)
    annotations = generated.image.manifest_annotations
    assert annotations["com.urunc.unikernel.cmdline"] == "/app.hvt -c /etc/x"
    assert urunc_json(generated.definition)["com.urunc.unikernel.cmdline"] == "/app.hvt -c /etc/x"
    # The config's labels keep only what the user wrote.
    assert "com.urunc.unikernel.cmdline" not in generated.image.config_for(None)["config"]["Labels"]
    assert not generated.warnings


def test_cmd_and_a_different_cmdline_warn_naming_both_lines() -> None:
    text = URUNC + 'LABEL com.urunc.unikernel.cmdline="a b"\nCMD ["c"]\n' + ROOTFS_LABELS
    (warning,) = gen(text).warnings
    assert warning.line == 6 and "(line 5)" in warning.message and "'a b'" in warning.message


def test_cmd_and_the_same_cmdline_agree_silently() -> None:
    text = (
        URUNC
        + 'LABEL com.urunc.unikernel.cmdline="/app.hvt -c"\n'
        + 'ENTRYPOINT ["/app.hvt"]\nCMD ["-c"]\n'
        + ROOTFS_LABELS
    )
    generated = gen(text)
    assert not generated.warnings
    config = generated.image.config_for(None)["config"]
    # Both as written: no Cmd derived from the label on top of the CMD.
    assert (config["Entrypoint"], config["Cmd"]) == (["/app.hvt"], ["-c"])
    assert config["Labels"]["com.urunc.unikernel.cmdline"] == "/app.hvt -c"
    assert generated.image.manifest_annotations["com.urunc.unikernel.cmdline"] == "/app.hvt -c"
    assert urunc_json(generated.definition)["com.urunc.unikernel.cmdline"] == "/app.hvt -c"


def test_images_not_for_urunc_get_no_cmdline() -> None:
    generated = gen('FROM scratch\nCMD ["/x"]\n')
    assert "com.urunc.unikernel.cmdline" not in generated.image.manifest_annotations


def test_compat_pun_keeps_urunc_json_to_the_labels() -> None:
    text = URUNC + 'CMD ["-x"]\n'
    generated = generate(text, GenerateOptions(local_unique_id="x", compat="pun"))
    assert "com.urunc.unikernel.cmdline" not in urunc_json(generated.definition)


def test_use_dm_block_is_deprecated_with_its_replacement() -> None:
    (warning,) = gen(URUNC + "LABEL com.urunc.unikernel.useDMBlock=false\n").warnings
    assert "deprecated" in warning.message and warning.line == 5
    assert 'com.urunc.unikernel.mountRootfs="false"' in warning.hint


def test_no_rootfs_label_warns_about_devmapper_on_old_urunc() -> None:
    (warning,) = gen(URUNC).warnings
    assert "failed to stat dev overlay" in warning.message and warning.line == 3
    assert "mountRootfs" in warning.hint and "useDMBlock" in warning.hint
    assert not gen(URUNC + "LABEL com.urunc.unikernel.block=/app.hvt\n").warnings


def test_source_map_names_each_op_s_line() -> None:
    generated = gen("FROM scratch\nCOPY a /a\nWORKDIR /w\n\nCOPY b c\n")
    ops = {}
    for data in getattr(ops_pb2.Definition.FromString(generated.definition), "def"):
        from pun.llb.marshal import digest_of

        ops[digest_of(bytes(data))] = ops_pb2.Op.FromString(data)
    kinds = {
        line: ops[digest].file.actions[0].WhichOneof("action")
        for digest, line in generated.source_map
    }
    assert kinds == {2: "copy", 3: "mkdir", 5: "copy"}


def test_spec_round_trips_through_json() -> None:
    spec = gen(DOCKERFILE).image
    assert ImageSpec.from_json(json.loads(json.dumps(spec.to_json()))) == spec
    based = gen('FROM 127.0.0.1:5000/b:1\nCMD ["x"]\n').image
    assert based.base is not None and ImageSpec.from_json(based.to_json()) == based


def test_empty_cmd_and_entrypoint_are_left_out() -> None:
    # Go's `omitempty` on the image spec: docker build records no Cmd for `CMD []`.
    config = gen('FROM scratch\nCMD ["/a"]\nENTRYPOINT []\nCMD []\n').image.config_for(None)
    assert "Cmd" not in config["config"] and "Entrypoint" not in config["config"]


def test_expose_of_an_unset_variable_records_no_port() -> None:
    config = gen("FROM scratch\nARG PORT\nEXPOSE $PORT\n").image.config_for(None)
    assert "ExposedPorts" not in config["config"]


def test_an_arg_after_an_env_of_the_same_name_wins_for_expansion() -> None:
    # BuildKit's dispatchArg and dispatchEnv both AddEnv to one environment: last write wins;
    # the config's Env keeps the ENV value.
    spec = gen("FROM scratch\nENV V=env\nARG V=arg\nLABEL v=$V\n").image
    assert spec.labels() == {"v": "arg"}
    assert "V=env" in spec.config_for(None)["config"]["Env"]


def test_an_absolute_workdir_is_kept_as_written() -> None:
    # util/system/path.go NormalizePath: absolute paths are not cleaned; relative ones are
    # path.Join'ed (and so cleaned).
    config = gen("FROM scratch\nWORKDIR /app/\n").image.config_for(None)["config"]
    assert config["WorkingDir"] == "/app/"
    config = gen("FROM scratch\nWORKDIR /app/\nWORKDIR ./x/../y\n").image.config_for(None)
    assert config["config"]["WorkingDir"] == "/app/y"


def test_only_cmd_sets_args_escaped() -> None:
    # BuildKit v0.32.2 dispatchCmd sets ArgsEscaped, dispatchEntrypoint does not. Measured on
    # 2026-12-01: `FROM scratch` + `ENTRYPOINT ["only"]` gives no ArgsEscaped with Docker
    # Engine 20.10.24 (`docker image inspect`) and with BuildKit v0.32.2's dockerfile.v0.
    alone = gen('FROM scratch\nENTRYPOINT ["only"]\n').image.config_for(None)["config"]
    assert alone == {
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "WorkingDir": "/",
        "Entrypoint": ["only"],
    }
    after_cmd = gen('FROM scratch\nCMD ["x"]\nENTRYPOINT ["y"]\n').image.config_for(None)
    assert after_cmd["config"]["ArgsEscaped"] is True


def test_the_shell_form_warning_names_the_shell_in_effect() -> None:
    text = 'FROM scratch\nCMD run it\nSHELL ["/bin/bash", "-c"]\nENTRYPOINT go\n'
    warnings = [w.render() for w in gen(text).warnings]
    assert any("CMD in shell form runs `/bin/sh -c run it`" in w for w in warnings), warnings
    assert any(
        "Containerfile:4: warning: ENTRYPOINT in shell form runs `/bin/bash -c go` in the guest;"
        " a unikernel has no /bin/bash" in w
        for w in warnings
    ), warnings


# A base image whose config has an Entrypoint: urunc 0.7+ boots Entrypoint + Cmd (its
# process args), urunc 0.5/0.6 the cmdline annotation; one image must give both the same.
URUNC_ON_BASE = URUNC.replace("FROM scratch", "FROM registry.example/base:1") + ROOTFS_LABELS
BASE_WITH_ENTRYPOINT = {"config": {"Entrypoint": ["/init", "-v"], "Cmd": ["base-arg"]}}
BASE_REF = "registry.example/base:1"


def _guest_args(config: Dict[str, Any]) -> str:
    """What urunc 0.7+ boots: Entrypoint + Cmd, joined as the cmdline annotation joins them."""
    return " ".join((config.get("Entrypoint") or []) + (config.get("Cmd") or []))


def test_a_cmd_on_a_base_with_an_entrypoint_derives_the_cmdline_with_it() -> None:
    from pun.imagespec import BaseConfig

    base = BaseConfig.from_image_config(BASE_WITH_ENTRYPOINT)
    options = GenerateOptions(local_unique_id="x", base_configs={BASE_REF: base})
    generated = generate(URUNC_ON_BASE + 'CMD ["-c", "/etc/x"]\n', options)
    config = generated.image.config_for(BASE_WITH_ENTRYPOINT)["config"]
    assert config["Entrypoint"] == ["/init", "-v"]  # docker keeps the base's with a CMD alone
    cmdline = generated.image.manifest_annotations["com.urunc.unikernel.cmdline"]
    assert cmdline == _guest_args(config) == "/init -v -c /etc/x"
    assert urunc_json(generated.definition)["com.urunc.unikernel.cmdline"] == cmdline
    assert not generated.warnings and not generated.plan.needs_base_config


def test_a_cmd_on_an_unknown_base_asks_for_its_config_and_warns_without_it() -> None:
    generated = gen(URUNC_ON_BASE + 'CMD ["-c"]\n')
    assert generated.plan.needs_base_config  # generate_with_base resolves and plans again
    (warning,) = generated.warnings
    assert warning.line == 6 and "Entrypoint" in warning.message
    assert "ENTRYPOINT" in (warning.hint or "")


def test_an_entrypoint_written_makes_the_base_one_irrelevant() -> None:
    generated = gen(URUNC_ON_BASE + 'ENTRYPOINT ["/app.hvt"]\nCMD ["-c"]\n')
    assert not generated.warnings and not generated.plan.needs_base_config
    config = generated.image.config_for(BASE_WITH_ENTRYPOINT)["config"]
    assert generated.image.manifest_annotations["com.urunc.unikernel.cmdline"] == _guest_args(
        config
    )


@pytest.mark.parametrize("known", [False, True])
def test_a_cmdline_label_on_a_base_with_an_entrypoint_boots_the_label_alone(known: bool) -> None:
    from pun.imagespec import BaseConfig

    configs = {BASE_REF: BaseConfig.from_image_config(BASE_WITH_ENTRYPOINT)} if known else {}
    options = GenerateOptions(local_unique_id="x", base_configs=configs)
    label = 'LABEL com.urunc.unikernel.cmdline="redis-server /conf"\n'
    generated = generate(URUNC_ON_BASE + label, options)
    config = generated.image.config_for(BASE_WITH_ENTRYPOINT)["config"]
    assert "Entrypoint" not in config and config["Cmd"] == ["redis-server", "/conf"]
    assert _guest_args(config) == "redis-server /conf"
    assert not generated.plan.needs_base_config  # known or not, the build-time config says it
