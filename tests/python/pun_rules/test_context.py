"""Build-context assembly (RuleRunner): files relative to the context root, packaged and
codegen dependencies, and the COPY check that names the target, the line and the fix."""

from __future__ import annotations

from textwrap import dedent

import pytest
from pants.engine.addresses import Address
from pants.engine.fs import Digest, DigestContents
from pants.engine.internals.scheduler import ExecutionError
from pants.testutil.rule_runner import QueryRule, RuleRunner

from pun_rules.util_rules.containerfile import ContainerfileInfo, ContainerfileRequest
from pun_rules.util_rules.context import BuildContext, BuildContextRequest, check_copy_sources
from pun_testing.pants_rules import configure, new_rule_runner

URUNC_LABELS = dedent(
    """\
    LABEL com.urunc.unikernel.binary=/unikernel/app.hvt
    LABEL com.urunc.unikernel.cmdline="app"
    LABEL com.urunc.unikernel.unikernelType="rumprun"
    LABEL com.urunc.unikernel.hypervisor="hvt"
    """
)


@pytest.fixture
def rule_runner() -> RuleRunner:
    return new_rule_runner(
        [
            QueryRule(BuildContext, [BuildContextRequest]),
            QueryRule(ContainerfileInfo, [ContainerfileRequest]),
            QueryRule(DigestContents, [Digest]),
        ]
    )


def context_files(rule_runner: RuleRunner, address: Address) -> dict:
    context = rule_runner.request(BuildContext, [BuildContextRequest(address)])
    contents = rule_runner.request(DigestContents, [context.digest])
    return {c.path: c.content for c in contents}


def test_files_are_relative_to_the_default_context_root(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "uk/app/BUILD": dedent(
                """\
                files(name="bin", sources=["app.hvt", "conf/*.conf"])
                unikernel_image(name="img", dependencies=[":bin", "shared:common"])
                """
            ),
            "uk/app/Containerfile": "FROM scratch\nCOPY app.hvt /unikernel/app.hvt\n"
            + URUNC_LABELS,
            "uk/app/app.hvt": "kernel",
            "uk/app/conf/a.conf": "a",
            "shared/common.conf": "c",
            "shared/BUILD": 'files(name="common", sources=["common.conf"])',
        }
    )
    address = Address("uk/app", target_name="img")
    context = rule_runner.request(BuildContext, [BuildContextRequest(address)])

    assert context.context_root == "uk/app"
    assert sorted(context.snapshot.files) == ["app.hvt", "conf/a.conf"]
    # A dependency's file outside the context root cannot be COPYed: it is left out, and noted.
    assert context.left_out == ("shared/common.conf",)


def test_context_root_relative_to_the_build_root(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "rootfs/BUILD": 'files(name="f", sources=["etc/app.conf"])',
            "rootfs/etc/app.conf": "x",
            "uk/BUILD": 'unikernel_image(name="img", context_root="/", dependencies=["rootfs:f"])',
            "uk/Containerfile": "FROM scratch\nCOPY rootfs/etc /etc\n",
        }
    )
    files = context_files(rule_runner, Address("uk", target_name="img"))
    assert files == {"rootfs/etc/app.conf": b"x"}


def test_packaged_dependency_sits_at_its_output_path(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "uk/BUILD": dedent(
                """\
                files(name="payload", sources=["payload.txt"])
                archive(name="bundle", format="tar", files=[":payload"], output_path="bundle.tar")
                unikernel_image(name="img", dependencies=[":bundle"])
                """
            ),
            "uk/payload.txt": "p",
            "uk/Containerfile": "FROM scratch\nCOPY bundle.tar /bundle.tar\n",
        }
    )
    files = context_files(rule_runner, Address("uk", target_name="img"))
    assert list(files) == ["bundle.tar"]
    address = Address("uk", target_name="img")
    context = rule_runner.request(BuildContext, [BuildContextRequest(address)])
    assert context.packaged == ("bundle.tar",)


def test_shell_command_output_is_in_the_context(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "uk/BUILD": dedent(
                """\
                shell_command(
                    name="kernel",
                    command="mkdir -p out && echo built > out/app.hvt",
                    tools=["mkdir", "echo"],
                    output_files=["out/app.hvt"],
                )
                unikernel_image(name="img", dependencies=[":kernel"])
                """
            ),
            "uk/Containerfile": "FROM scratch\nCOPY out/app.hvt /unikernel/app.hvt\n",
        }
    )
    files = context_files(rule_runner, Address("uk", target_name="img"))
    assert files == {"out/app.hvt": b"built\n"}


def test_copy_check_names_target_line_and_fix(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "uk/BUILD": dedent(
                """\
                files(name="bin", sources=["app.hvt"])
                unikernel_image(name="img", dependencies=[":bin"])
                """
            ),
            "uk/app.hvt": "kernel",
            "uk/Containerfile": "FROM scratch\n\nCOPY app.hvt /a\nCOPY ap.hvt /b\n"
            "COPY *.conf /c/\n",
        }
    )
    address = Address("uk", target_name="img")
    info = rule_runner.request(ContainerfileInfo, [ContainerfileRequest(address)])
    context = rule_runner.request(BuildContext, [BuildContextRequest(address)])

    with pytest.raises(Exception) as raised:
        check_copy_sources(info, context)

    message = str(raised.value)
    assert message.startswith("unikernel_image uk:img:")
    assert "uk/Containerfile:4: COPY ap.hvt: nothing in the build context matches" in message
    assert "(did you mean app.hvt?)" in message
    assert "uk/Containerfile:5: COPY *.conf" in message
    assert "Containerfile:3" not in message  # app.hvt is there
    assert "relative to the context root (uk)" in message
    assert "`files` or `resources` target" in message


def test_containerfile_errors_name_the_target_and_line(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "uk/BUILD": 'unikernel_image(name="img")',
            "uk/Containerfile": "FROM scratch\nFROM scratch\n",
        }
    )
    with pytest.raises(ExecutionError) as raised:
        rule_runner.request(
            ContainerfileInfo, [ContainerfileRequest(Address("uk", target_name="img"))]
        )
    message = str(raised.value)
    assert "unikernel_image uk:img: uk/Containerfile:2: error:" in message
    assert "hint:" in message


def test_build_args_reach_the_plan(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "uk/BUILD": 'unikernel_image(name="img", build_args=["KERNEL=app.hvt", "FROM_ENV"])',
            "uk/Containerfile": "FROM scratch\nARG KERNEL\nARG FROM_ENV\n"
            "COPY ${KERNEL} /unikernel/${FROM_ENV}\n",
        }
    )
    configure(rule_runner, env={"FROM_ENV": "k"})
    info = rule_runner.request(
        ContainerfileInfo, [ContainerfileRequest(Address("uk", target_name="img"))]
    )
    assert dict(info.build_args.values) == {"KERNEL": "app.hvt", "FROM_ENV": "k"}
    assert info.plan.copy_sources() == ("app.hvt",)
    assert info.plan.copies[0].dest == "/unikernel/k"


IGNORED_APP = {
    "uk/app/BUILD": dedent(
        """\
        files(name="bin", sources=["app.hvt", "conf/*", "notes.tmp", "keep.tmp"])
        unikernel_image(name="img", dependencies=[":bin"])
        """
    ),
    "uk/app/Containerfile": "FROM scratch\nCOPY app.hvt /unikernel/app.hvt\n" + URUNC_LABELS,
    "uk/app/app.hvt": "kernel",
    "uk/app/conf/a.conf": "a",
    "uk/app/conf/b.secret": "s",
    "uk/app/notes.tmp": "n",
    "uk/app/keep.tmp": "k",
}


def test_the_context_roots_dockerignore_filters_the_context(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {**IGNORED_APP, "uk/app/.dockerignore": "*.tmp\n!keep.tmp\nconf/*.secret\n"}
    )
    context = rule_runner.request(
        BuildContext, [BuildContextRequest(Address("uk/app", target_name="img"))]
    )
    # As with docker, the context keeps .dockerignore itself (COPY . / copies it).
    assert sorted(context.snapshot.files) == [".dockerignore", "app.hvt", "conf/a.conf", "keep.tmp"]
    assert context.ignore_file == "uk/app/.dockerignore"
    assert context.excludes == ("*.tmp", "!keep.tmp", "conf/*.secret")
    assert context.excluded == ("conf/b.secret", "notes.tmp")


def test_a_containerfile_dockerignore_wins(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            **IGNORED_APP,
            "uk/app/.dockerignore": "app.hvt\n",
            "uk/app/Containerfile.dockerignore": "conf\n",
        }
    )
    context = rule_runner.request(
        BuildContext, [BuildContextRequest(Address("uk/app", target_name="img"))]
    )
    assert sorted(context.snapshot.files) == ["app.hvt", "keep.tmp", "notes.tmp"]
    assert context.ignore_file == "uk/app/Containerfile.dockerignore"
    assert context.excludes == ("conf",)


def test_copying_an_ignored_file_names_the_ignore_file(rule_runner: RuleRunner) -> None:
    rule_runner.write_files({**IGNORED_APP, "uk/app/.containerignore": "app.hvt\n"})
    address = Address("uk/app", target_name="img")
    info = rule_runner.request(ContainerfileInfo, [ContainerfileRequest(address)])
    context = rule_runner.request(BuildContext, [BuildContextRequest(address)])
    with pytest.raises(Exception, match=r"COPY app.hvt: .*uk/app/.containerignore excludes it"):
        check_copy_sources(info, context)
