"""`prepare_build` plans with the base image's config where it changes the plan (RuleRunner, real
`pun base-config` processes): a registry base (a hand-made image in a local registry) and a base
that is another `unikernel_image` (read from its archive). A plan that does not need the config
spawns no process at all: it is prepared without the pun tool PEX being buildable."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent
from typing import Any, Iterator, List, Tuple

import pytest
from pants.engine.addresses import Address
from pants.engine.internals.native_engine import EMPTY_DIGEST
from pants.testutil.rule_runner import QueryRule, RuleRunner

from pun.imagespec import BaseConfig, BaseSpec, SetEnv
from pun.llb.definition import Definition
from pun.platform import Platform
from pun_rules.errors import UnikernelImageError
from pun_rules.field_sets import UnikernelImageFieldSet
from pun_rules.util_rules.base_config import base_config_argv, base_config_request, read_answer
from pun_rules.util_rules.build_request import UnikernelBuildRequest
from pun_rules.util_rules.upstream_images import UpstreamImage, UpstreamImages
from pun_testing.images import config_layout
from pun_testing.pants_rules import configure, new_rule_runner, offline_env, offline_options
from pun_testing.registry import push_layout, start_registry, stop_registry

LABELS = (
    'LABEL com.urunc.unikernel.binary=/unikernel/app.hvt com.urunc.unikernel.cmdline="app"\n'
    'LABEL com.urunc.unikernel.unikernelType="rumprun" com.urunc.unikernel.hypervisor="hvt"\n'
)
# Needs the base's Env ($PATH), WorkingDir (WORKDIR sub) and User (the directory's owner).
ABOVE = "ENV PATH=$PATH:/x\nWORKDIR sub\nCOPY app.hvt /unikernel/app.hvt\n" + LABELS


@pytest.fixture(scope="module")
def base_image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("rule-base")
    registry, process = start_registry(work / "registry")
    try:
        body = {"Env": ["PATH=/basebin", "APPDIR=/app"], "WorkingDir": "/srv", "User": "app"}
        ref = f"{registry.host}/base/config:1.0"
        push_layout(config_layout(work / "layout", body), ref)
        yield ref
    finally:
        stop_registry(process)


def runner(offline: bool) -> RuleRunner:
    rule_runner = new_rule_runner([QueryRule(UnikernelBuildRequest, [UnikernelImageFieldSet])])
    if offline:
        configure(rule_runner, offline_options(), env=offline_env())
    return rule_runner


def prepare(rule_runner: RuleRunner, directory: str) -> UnikernelBuildRequest:
    target = rule_runner.get_target(Address(directory, target_name="img"))
    return rule_runner.request(UnikernelBuildRequest, [UnikernelImageFieldSet.create(target)])


def planned(request: UnikernelBuildRequest) -> Tuple[List[str], List[Tuple[str, str]]]:
    """(PATH values the ENV steps set, (mkdir path, owner) of the LLB's mkdirs)."""
    paths = [s.value for s in request.image.steps if isinstance(s, SetEnv) and s.key == "PATH"]
    mkdirs = []
    for op in Definition.from_bytes(request.definition).ops.values():
        if op.WhichOneof("op") != "file":
            continue
        for action in op.file.actions:
            if action.WhichOneof("action") == "mkdir":
                mkdirs.append((action.mkdir.path, owner(action.mkdir.owner.user)))
    return paths, mkdirs


def owner(user: Any) -> str:
    """A UserOpt as text: the name, `#ID`, or "" (none)."""
    which = user.WhichOneof("user")
    if which == "byName":
        return str(user.byName.name)
    return f"#{user.byID}" if which == "byID" else ""


def test_a_registry_base_is_resolved_when_the_plan_needs_it(base_image: str) -> None:
    rule_runner = runner(offline=True)
    rule_runner.write_files(
        {
            "uk/BUILD": 'files(name="bin", sources=["app.hvt"])\nunikernel_image(name="img")\n',
            "uk/Containerfile": f"FROM {base_image}\n" + ABOVE,
            "uk/app.hvt": "kernel",
        }
    )
    paths, mkdirs = planned(prepare(rule_runner, "uk"))
    assert paths == ["/basebin:/x"]
    assert mkdirs == [("/srv/sub", "app")]


def test_a_plan_that_does_not_need_it_spawns_nothing(base_image: str) -> None:
    # No offline options: building the pun tool PEX would fail, so no process ran.
    rule_runner = runner(offline=False)
    rule_runner.write_files(
        {
            "uk/BUILD": 'files(name="bin", sources=["app.hvt"])\nunikernel_image(name="img")\n',
            "uk/Containerfile": f"FROM {base_image}\nUSER 0\nWORKDIR /srv/sub\n"
            "COPY app.hvt /unikernel/app.hvt\n" + LABELS,
            "uk/app.hvt": "kernel",
        }
    )
    paths, mkdirs = planned(prepare(rule_runner, "uk"))
    assert paths == [] and mkdirs == [("/srv/sub", "#0")]


def test_a_unikernel_image_base_is_read_from_its_archive(tmp_path: Path) -> None:
    rule_runner = runner(offline=True)
    rule_runner.write_files(
        {
            "base/BUILD": dedent(
                """\
                files(name="bin", sources=["app.hvt"])
                unikernel_image(name="img", image_tags=["1.0"])
                """
            ),
            "base/Containerfile": "FROM scratch\nENV PATH=/basebin\nWORKDIR /srv\nUSER 7:8\n"
            "COPY app.hvt /unikernel/app.hvt\n" + LABELS,
            "base/app.hvt": "kernel",
            "app/BUILD": 'files(name="bin", sources=["app.hvt"])\nunikernel_image(name="img")\n',
            "app/Containerfile": "FROM base:img\n" + ABOVE,
            "app/app.hvt": "kernel",
        }
    )
    paths, mkdirs = planned(prepare(rule_runner, "app"))
    assert paths == ["/basebin:/x"]
    assert mkdirs == [("/srv/sub", "#7")]  # the base's USER 7:8


def test_an_error_the_bases_config_lifts_is_resolved_first(base_image: str) -> None:
    # Without the base's Env, WORKDIR $APPDIR is empty, an error: the rule resolves the base
    # and plans again (pun.api.BasePlanner), as docker build reads the base's APPDIR.
    rule_runner = runner(offline=True)
    rule_runner.write_files(
        {
            "uk/BUILD": 'files(name="bin", sources=["app.hvt"])\nunikernel_image(name="img")\n',
            "uk/Containerfile": f"FROM {base_image}\nWORKDIR $APPDIR\n"
            "COPY app.hvt /unikernel/app.hvt\n" + LABELS,
            "uk/app.hvt": "kernel",
        }
    )
    _, mkdirs = planned(prepare(rule_runner, "uk"))
    assert mkdirs == [("/app", "app")]


@pytest.mark.parametrize(
    "body, message",
    [
        # The plan failed anyway: its own error, not the unreachable registry's.
        ("WORKDIR $APPDIR\n", "WORKDIR expands to an empty path"),
        # The plan only needed the config for its meaning: the registry's error stands.
        ("ENV PATH=$PATH:/x\n", "cannot resolve the base image"),
    ],
)
def test_an_unreachable_base_fails_with_the_error_that_explains(body: str, message: str) -> None:
    rule_runner = runner(offline=True)
    rule_runner.write_files(
        {
            "uk/BUILD": 'files(name="bin", sources=["app.hvt"])\nunikernel_image(name="img")\n',
            # Port 9 on loopback (discard): nothing answers there.
            "uk/Containerfile": "FROM 127.0.0.1:9/base/unreachable:1\n"
            + body
            + "COPY app.hvt /unikernel/app.hvt\n"
            + LABELS,
            "uk/app.hvt": "kernel",
        }
    )
    with pytest.raises(Exception, match=message):
        prepare(rule_runner, "uk")


def _upstream() -> UpstreamImages:
    image = UpstreamImage(
        "base:img", Address("base", target_name="img"), "base/img:1.0@sha256:" + "a" * 64, "u/a.tar"
    )
    return UpstreamImages((image,), EMPTY_DIGEST)


def test_a_registry_bases_request_holds_no_upstream_archive() -> None:
    address = Address("uk", target_name="img")
    platform = Platform(os="linux", architecture="amd64")
    registry = base_config_request(address, BaseSpec("example.com/base:1", platform), _upstream())
    assert registry.upstream.images == () and "--image-archive" not in " ".join(
        base_config_argv(registry)
    )
    reference = "docker.io/base/img:1.0@sha256:" + "a" * 64
    own = base_config_request(address, BaseSpec(reference, platform), _upstream())
    assert [i.archive for i in own.upstream.images] == ["u/a.tar"]


@pytest.mark.parametrize("stdout", [b"", b"Traceback (most recent call last):\n", b"[1]"])
def test_output_that_is_no_config_is_a_target_error(stdout: bytes) -> None:
    request = base_config_request(
        Address("uk", target_name="img"),
        BaseSpec("example.com/base:1", Platform(os="linux", architecture="amd64")),
        _upstream(),
    )
    with pytest.raises(UnikernelImageError, match="unikernel_image uk:img: `pun base-config`"):
        read_answer(request, stdout)
    assert read_answer(request, b'{"config":null}\n') == BaseConfig()
