"""The base image's config in planning: BuildKit v0.32.2's rules, read from
`frontend/dockerfile/dockerfile2llb/convert.go` (toDispatchState seeds the stage's env with the
base's Env, PATH added when it has none, then WorkingDir and User; dispatchArg's AddEnv and
dispatchEnv write the same env, so the last write wins; dispatchWorkdir's mkdir is
WithUser(image.Config.User)). Docker Engine checks the same rules end to end in
tests/python/pun/solve/test_base_config_oracle.py; these pin each rule alone, with no network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import pytest

from pun.api import Generated, GenerateOptions, generate, generate_with_base
from pun.diagnostics import PunError
from pun.imagespec import DEFAULT_PATH_ENV, BaseConfig, BaseSpec

REF = "registry.example.com/base/image:1"
CONFIG = {"config": {"Env": ["PATH=/basebin", "V=base", "EMPTY="], "WorkingDir": "/srv"}}


def with_base(
    text: str, config: Mapping[str, Any] = CONFIG, build_args: Mapping[str, str] = {}
) -> Generated:
    options = GenerateOptions(
        build_args=build_args,
        base_configs={REF: BaseConfig.from_image_config(config)},
        local_unique_id="pinned",
    )
    return generate(f"FROM {REF}\n" + text, options)


def env(generated: Generated) -> Dict[str, str]:
    config = generated.image.config_for(CONFIG)["config"]
    return dict(entry.split("=", 1) for entry in config["Env"])


def labels(generated: Generated) -> Dict[str, str]:
    return generated.plan.label_values()


def test_the_bases_env_is_seen_by_expansion() -> None:
    generated = with_base("ENV PATH=$PATH:/x W=${V}-w E=${EMPTY:-dflt}\n")
    assert env(generated)["PATH"] == "/basebin:/x"
    assert env(generated)["W"] == "base-w"
    assert env(generated)["E"] == "dflt"  # set but empty: `:-` takes the default
    assert not generated.plan.needs_base_config
    assert not [w for w in generated.warnings if "not set" in w.message]


def test_path_defaults_when_the_base_has_none() -> None:
    generated = with_base("LABEL p=$PATH\n", {"config": {"Env": ["A=1"]}})
    assert labels(generated)["p"] == DEFAULT_PATH_ENV.split("=", 1)[1]


def test_an_arg_after_from_overrides_the_bases_env() -> None:
    # dispatchArg AddEnv after the base's Env: the later write wins in expansion.
    assert labels(with_base("ARG V=arg\nLABEL v=$V\n"))["v"] == "arg"
    assert labels(with_base("ARG V\nLABEL v=$V\n", build_args={"V": "cli"}))["v"] == "cli"


def test_an_arg_without_a_value_leaves_the_bases_env() -> None:
    assert labels(with_base("ARG V\nLABEL v=$V\n"))["v"] == "base"


def test_a_meta_arg_not_redeclared_does_not_shadow_the_bases_env() -> None:
    text = f"ARG V=meta\nFROM {REF}\nLABEL v=$V\n"
    options = GenerateOptions(base_configs={REF: BaseConfig.from_image_config(CONFIG)})
    assert generate(text, options).plan.label_values()["v"] == "base"
    # Redeclared without a value it takes the meta value, written after the base's Env.
    text = f"ARG V=meta\nFROM {REF}\nARG V\nLABEL v=$V\n"
    assert generate(text, options).plan.label_values()["v"] == "meta"


def test_an_env_of_the_containerfile_replaces_the_bases() -> None:
    generated = with_base("ENV V=mine\nLABEL v=$V\n")
    assert labels(generated)["v"] == "mine"
    assert env(generated)["V"] == "mine"


def test_relative_paths_resolve_on_the_bases_working_dir() -> None:
    generated = with_base("WORKDIR sub\nCOPY a rel/\nCOPY b .\n")
    assert [w.path for w in generated.plan.workdirs] == ["/srv/sub"]
    assert [c.workdir for c in generated.plan.copies] == ["/srv/sub", "/srv/sub"]
    assert generated.image.config_for(CONFIG)["config"]["WorkingDir"] == "/srv/sub"
    assert not [w for w in generated.warnings if "relative" in w.message]


def test_a_copy_with_no_workdir_lands_in_the_bases_working_dir() -> None:
    generated = with_base("COPY a rel/\n")
    assert [c.workdir for c in generated.plan.copies] == ["/srv"]


def test_workdirs_directory_is_owned_by_the_bases_user_until_user() -> None:
    config = {"config": {"User": "app"}}
    generated = with_base("WORKDIR /a\nUSER 7:8\nWORKDIR /b\n", config)
    assert [(w.path, w.user) for w in generated.plan.workdirs] == [("/a", "app"), ("/b", "7:8")]


def test_scratch_starts_with_empty_images_path() -> None:
    generated = generate("FROM scratch\nENV PATH=$PATH:/x\n")
    assert generated.image.config_for(None)["config"]["Env"] == [DEFAULT_PATH_ENV + ":/x"]
    assert not generated.plan.needs_base_config


@pytest.mark.parametrize(
    "text",
    [
        "ENV A=$HOME\n",
        "ENV A=${HOME:-x}\n",  # a default the base's HOME would replace
        "LABEL a=${HOME/x/y}\n",
        "WORKDIR rel\n",
        "COPY a b\n",
        "WORKDIR /abs\n",  # the directory is owned by the base's User
        "ENV A=1 B=$A\n",  # B reads A from before the instruction: the base's, if any
    ],
)
def test_what_needs_the_base_config(text: str) -> None:
    generated = generate(f"FROM {REF}\n" + text)
    assert generated.plan.needs_base_config


@pytest.mark.parametrize(
    "text",
    [
        "COPY a /b\n",
        "LABEL a=b\n",
        "ENV A=1\nENV B=$A\n",  # A is the Containerfile's own
        "USER app\nWORKDIR /abs\nCOPY a b\n",
        "WORKDIR /\nCOPY a b\n",
    ],
)
def test_what_does_not(text: str) -> None:
    generated = generate(f"FROM {REF}\n" + text)
    assert not generated.plan.needs_base_config


def test_generate_with_base_resolves_only_when_needed() -> None:
    asked: List[BaseSpec] = []

    def resolve(base: BaseSpec) -> Optional[Mapping[str, Any]]:
        asked.append(base)
        return CONFIG

    plain = generate_with_base(f"FROM {REF}\nCOPY a /b\n", GenerateOptions(), resolve)
    assert asked == [] and not plain.plan.needs_base_config
    scratch = generate_with_base("FROM scratch\nENV P=$PATH\n", GenerateOptions(), resolve)
    assert asked == [] and scratch.plan.base.is_scratch
    needed = generate_with_base(f"FROM {REF}\nENV P=$PATH\n", GenerateOptions(), resolve)
    assert [b.reference for b in asked] == [REF]
    assert needed.image.config_for(CONFIG)["config"]["Env"][0] == "PATH=/basebin"
    assert (
        dict(e.split("=", 1) for e in needed.image.config_for(CONFIG)["config"]["Env"])["P"]
        == "/basebin"
    )


def test_without_a_config_the_plan_warns_as_before() -> None:
    generated = generate_with_base(
        f"FROM {REF}\nENV P=$PATH\nWORKDIR rel\n", GenerateOptions(), lambda base: None
    )
    assert generated.plan.needs_base_config
    messages = [w.message for w in generated.warnings]
    assert any("$PATH is not set" in m for m in messages)
    assert any("WORKDIR rel is relative" in m for m in messages)


def test_pun_llb_reads_a_base_config_file(
    tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    import json

    from pun.cli.main import main
    from pun.llb.definition import Definition

    containerfile = tmp_path / "Containerfile"
    containerfile.write_text(f"FROM {REF}\nWORKDIR sub\nCOPY a b\n")
    given = tmp_path / "base.json"
    given.write_text(json.dumps({"config": {"WorkingDir": "/srv", "User": "app"}}))
    argv = ["--LLB", "-f", str(containerfile), "--local-unique-id", "x"]
    outputs = []
    for extra in ([], ["--base-config", str(given)]):
        assert main(argv + extra) == 0
        captured = capfdbinary.readouterr()
        outputs.append((captured.out, captured.err.decode()))
    (without, warned), (with_config, quiet) = outputs
    assert "WORKDIR sub is relative" in warned and "relative" not in quiet
    ops = Definition.from_bytes(with_config).ops.values()
    actions = [a for op in ops if op.WhichOneof("op") == "file" for a in op.file.actions]
    assert [a.mkdir.path for a in actions if a.WhichOneof("action") == "mkdir"] == ["/srv/sub"]
    assert [a.copy.dest for a in actions if a.WhichOneof("action") == "copy"] == ["/srv/sub/b"]
    assert without != with_config


def test_pun_llb_refuses_a_base_config_that_is_not_one(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from pun.cli.main import main

    containerfile = tmp_path / "Containerfile"
    containerfile.write_text(f"FROM {REF}\nWORKDIR sub\n")
    given = tmp_path / "base.json"
    given.write_text("[1]")
    assert main(["--LLB", "-f", str(containerfile), "--base-config", str(given)]) == 1
    captured = capfd.readouterr()
    assert captured.out == ""
    assert "is not an image config" in captured.err


def test_base_config_reads_what_a_config_holds() -> None:
    # parseKeyValue: an entry without `=` is a variable with an empty value.
    config = BaseConfig.from_image_config({"config": {"Env": ["A=1=2", "B"], "User": "u"}})
    assert config == BaseConfig(env=("A=1=2", "B"), working_dir="", user="u")
    assert config.stage_env() == [("A", "1=2"), ("B", ""), ("PATH", DEFAULT_PATH_ENV[5:])]
    assert BaseConfig.from_image_config({}) == BaseConfig()
    assert BaseConfig.from_image_config(config.to_json()) == config


def test_pun_base_config_fails_with_one_error(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from pun.cli.main import main

    # Nothing listens on port 1 of the loopback: the connection is refused at once.
    assert main(["base-config", "--cache-dir", str(tmp_path), "127.0.0.1:1/x:1"]) == 1
    captured = capfd.readouterr()
    assert captured.out == ""
    assert (
        captured.err.startswith("error: registry 127.0.0.1:1") and "Traceback" not in captured.err
    )


class Resolver:
    """A resolver that records what it was asked for and answers with one config."""

    def __init__(self, config: Optional[Mapping[str, Any]]) -> None:
        self.config = config
        self.asked: List[BaseSpec] = []

    def __call__(self, base: BaseSpec) -> Optional[Mapping[str, Any]]:
        self.asked.append(base)
        return self.config


APPDIR = {"config": {"Env": ["APPDIR=/app"], "WorkingDir": "/rootfs"}}


def test_an_error_after_from_without_the_config_asks_for_it() -> None:
    # docker build takes WORKDIR $APPDIR from the base's Env: the config-less plan's error
    # ("expands to an empty path") is not the answer when the base can be resolved.
    resolve = Resolver(APPDIR)
    generated = generate_with_base(f"FROM {REF}\nWORKDIR $APPDIR\n", GenerateOptions(), resolve)
    assert [b.reference for b in resolve.asked] == [REF]
    assert [w.path for w in generated.plan.workdirs] == ["/app"]
    # A relative COPY lands in the base's WorkingDir, which the rootfs src names.
    text = f'FROM {REF}\nCOPY init .\nLABEL pun.rootfs="type=initrd,src=/rootfs"\n'
    resolve = Resolver(APPDIR)
    generated = generate_with_base(text, GenerateOptions(), resolve)
    assert len(resolve.asked) == 1 and generated.plan.rootfs is not None
    assert [(i.source, i.dest) for i in generated.plan.rootfs.includes] == [("init", "/")]


def test_without_a_config_the_first_error_stands_and_with_one_the_second() -> None:
    with pytest.raises(PunError, match="WORKDIR expands to an empty path"):
        generate_with_base(f"FROM {REF}\nWORKDIR $APPDIR\n", GenerateOptions(), Resolver(None))
    resolve = Resolver({"config": {"Env": ["OTHER=1"]}})
    with pytest.raises(PunError, match="WORKDIR expands to an empty path") as caught:
        generate_with_base(f"FROM {REF}\nWORKDIR $APPDIR\n", GenerateOptions(), resolve)
    assert len(resolve.asked) == 1 and caught.value.diagnostics[0].line == 2


def test_an_error_no_config_can_lift_asks_nothing() -> None:
    resolve = Resolver(APPDIR)
    before = f"ARG A\nCOPY a /b\nFROM {REF}\n"  # an error before FROM: no base yet
    for text in ("FROM scratch\nWORKDIR $APPDIR\n", before, f"BOGUS x\nFROM {REF}\n"):
        with pytest.raises(PunError):
            generate_with_base(text, GenerateOptions(), resolve)
    assert resolve.asked == []


def test_a_strict_label_read_from_the_bases_env_asks_for_it() -> None:
    # The urunc check of `generate` runs after the plan: its error qualifies too.
    text = (
        f"FROM {REF}\nLABEL com.urunc.unikernel.binary=$BIN com.urunc.unikernel.hypervisor=qemu"
        " com.urunc.unikernel.unikernelType=unikraft\n"
    )
    config = {"config": {"Env": ["BIN=/unikernel/app"]}}
    resolve = Resolver(config)
    generated = generate_with_base(text, GenerateOptions(strict=True), resolve)
    assert len(resolve.asked) == 1
    assert labels(generated)["com.urunc.unikernel.binary"] == "/unikernel/app"


def test_a_hypervisor_label_behind_the_error_gets_the_config_for_its_platform() -> None:
    # unikraft.org images are pulled for <hypervisor>/<arch>: the failed plan reads on past
    # the error, so the label after it picks the platform the config is resolved for.
    text = (
        "FROM unikraft.org/base:1\nWORKDIR $APPDIR\n"
        "LABEL com.urunc.unikernel.hypervisor=firecracker\n"
    )
    resolve = Resolver(APPDIR)
    generated = generate_with_base(text, GenerateOptions(), resolve)
    assert [str(b.platform) for b in resolve.asked] == ["firecracker/amd64"]
    assert generated.image.base is not None
    assert str(generated.image.base.platform) == "firecracker/amd64"


def test_a_platform_the_bases_config_moves_is_resolved_again() -> None:
    # The hypervisor label read from the base's Env: the first config was resolved for the
    # default hypervisor's image; the plan made with it pulls another, whose config is asked.
    text = "FROM unikraft.org/base:1\nLABEL com.urunc.unikernel.hypervisor=$HV\n"
    resolve = Resolver({"config": {"Env": ["HV=firecracker"]}})
    generated = generate_with_base(text, GenerateOptions(), resolve)
    assert [str(b.platform) for b in resolve.asked] == ["qemu/amd64", "firecracker/amd64"]
    assert generated.image.base is not None
    assert str(generated.image.base.platform) == "firecracker/amd64"


def test_the_failed_plan_still_names_every_copy_source() -> None:
    # What Pants' dependency inference and the frontend's ignore-file lookup read.
    from pun.api import read_plan
    from pun.containerfile.plan import BaseUnknownError

    with pytest.raises(BaseUnknownError) as caught:
        read_plan(f"FROM {REF}\nWORKDIR $APPDIR\nCOPY a /a\nCOPY b c\n")
    assert caught.value.plan.copy_sources() == ("a", "b")


def test_compat_pun_never_depends_on_the_base() -> None:
    # The original pun read nothing of its base: no resolution, no warning that it matters,
    # and a config given anyway changes nothing.
    text = f'FROM {REF}\nENV P=$PATH\nWORKDIR rel\nCOPY a b\nCMD ["app"]\n' + (
        "LABEL com.urunc.unikernel.hypervisor=qemu\n"
    )
    resolve = Resolver(APPDIR)
    options = GenerateOptions(compat="pun", local_unique_id="x")
    generated = generate_with_base(text, options, resolve)
    assert resolve.asked == [] and not generated.plan.needs_base_config
    messages = " ".join(w.message + w.hint for w in generated.warnings)
    assert "base image" not in messages
    configured = options._replace(base_configs={REF: BaseConfig.from_image_config(APPDIR)})
    assert generate(text, configured).definition == generated.definition


def test_the_bridge_hint_names_pun_llb_base_config() -> None:
    text = f'FROM {REF}\nCMD ["app"]\nLABEL com.urunc.unikernel.hypervisor=qemu\n'
    generated = generate(text)
    assert generated.plan.needs_base_config
    (note,) = [w for w in generated.warnings if "Entrypoint" in w.message]
    assert "pun --LLB --base-config FILE" in note.hint


def test_pun_llb_and_pun_build_agree_under_compat_pun(
    tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    # A base nothing listens for: resolving it would be an error, so neither command may.
    from pun.cli.build import _parser, _plan
    from pun.cli.main import main

    containerfile = tmp_path / "Containerfile"
    containerfile.write_text("FROM 127.0.0.1:1/base:1\nWORKDIR rel\nCOPY a b\nENV P=$PATH\n")
    (tmp_path / "a").write_text("a")
    common = ["-f", str(containerfile), "--compat", "pun", "--local-unique-id", "x"]
    assert main(["--LLB", *common, "--context", str(tmp_path)]) == 0
    llb = capfdbinary.readouterr().out
    out = ["-o", f"type=oci,dest={tmp_path / 'i.tar'}", "--context", str(tmp_path)]
    args = _parser().parse_args([*common, *out, "--cache-dir", str(tmp_path / "c")])
    ((definition, _),) = _plan(args)
    assert definition == llb


def test_pun_base_config_takes_one_platform(capfd: pytest.CaptureFixture[str]) -> None:
    from pun.cli.main import main

    argv = ["base-config", "--platform", "linux/amd64,linux/arm64", "127.0.0.1:1/x:1"]
    assert main(argv) == 1
    captured = capfd.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert captured.err.startswith("error: --platform takes one platform")


@pytest.mark.parametrize(
    "body, accepted",
    [
        ('{"config": null}', True),  # an image without a config: BaseConfig() as below
        ('{"config": {"Env": null, "User": null}}', True),
        ('{"config": {"Env": "PATH=/x"}}', False),  # would be split into characters
        ('{"config": {"Entrypoint": [1]}}', False),
        ('{"config": {"WorkingDir": 7}}', False),
    ],
)
def test_a_base_config_file_is_typed_as_an_image_config(
    tmp_path: Path, body: str, accepted: bool
) -> None:
    import json

    from pun.cli.options import read_base_config

    given = tmp_path / "base.json"
    given.write_text(body)
    if accepted:
        assert BaseConfig.from_image_config(read_base_config(str(given))) == BaseConfig()
        assert BaseConfig.from_image_config(json.loads(body)) == BaseConfig()
        return
    with pytest.raises(PunError) as caught:
        read_base_config(str(given))
    assert str(given) in caught.value.diagnostics[0].message


def test_pun_llb_says_an_error_may_need_the_base_config(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    import json

    from pun.cli.main import main

    containerfile = tmp_path / "Containerfile"
    containerfile.write_text(f"FROM {REF}\nWORKDIR $APPDIR\n")
    assert main(["--LLB", "-f", str(containerfile)]) == 1
    captured = capfd.readouterr()
    assert captured.out == ""
    assert "WORKDIR expands to an empty path" in captured.err
    assert f"{containerfile}:1: note:" in captured.err and "--base-config FILE" in captured.err
    given = tmp_path / "base.json"
    given.write_text(json.dumps(APPDIR))
    assert main(["--LLB", "-f", str(containerfile), "--base-config", str(given)]) == 0
    assert capfd.readouterr().out


def test_a_resolver_that_fails_does_not_hide_the_plans_own_error() -> None:
    from pun.diagnostics import error

    def unreachable(base: BaseSpec) -> Optional[Mapping[str, Any]]:
        raise error(f"cannot reach the registry of {base.reference}")

    # The plan failed anyway (a typo, say): its error is the one to read, offline too.
    with pytest.raises(PunError, match="WORKDIR expands to an empty path"):
        generate_with_base(f"FROM {REF}\nWORKDIR $APPDIR\n", GenerateOptions(), unreachable)
    # A plan that only needs the config for its meaning: the resolver's error stands.
    with pytest.raises(PunError, match="cannot reach the registry"):
        generate_with_base(f"FROM {REF}\nLABEL p=$PATH\n", GenerateOptions(), unreachable)
