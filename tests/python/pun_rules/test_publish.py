"""`publish` (RuleRunner): one `pun push` of the packaged archive per registry, `skip_push` on
the target and per registry, plain HTTP when configured; and a real push to a local registry,
read back by digest with skopeo, annotations intact."""

from __future__ import annotations

import json
from textwrap import dedent
from typing import List

import pytest
from pants.core.goals.package import BuiltPackage
from pants.core.goals.publish import PublishPackages, PublishProcesses
from pants.engine.addresses import Address
from pants.testutil.rule_runner import QueryRule, RuleRunner, mock_console

from pun_rules.field_sets import UnikernelImageFieldSet
from pun_rules.goals.package import BuiltUnikernelImage
from pun_rules.goals.publish import PublishUnikernelImageFieldSet, PublishUnikernelImageRequest
from pun_testing.pants_rules import configure, new_rule_runner, offline_env, offline_options
from pun_testing.registry import Registry, registry
from pun_testing.tools import require, run

__all__ = ["registry"]  # pytest fixture, used by name below


@pytest.fixture
def rule_runner() -> RuleRunner:
    rule_runner = new_rule_runner(
        [
            QueryRule(BuiltPackage, [UnikernelImageFieldSet]),
            QueryRule(PublishProcesses, [PublishUnikernelImageRequest]),
        ]
    )
    rule_runner.write_files(
        {
            "uk/Containerfile": dedent(
                """\
                FROM scratch
                COPY app.hvt /unikernel/app.hvt
                LABEL com.urunc.unikernel.binary=/unikernel/app.hvt
                LABEL com.urunc.unikernel.unikernelType="rumprun"
                LABEL com.urunc.unikernel.hypervisor="hvt"
                """
            ),
            "uk/app.hvt": "kernel",
        }
    )
    return rule_runner


def publish(rule_runner: RuleRunner, target_line: str, options: List[str]) -> List[PublishPackages]:
    rule_runner.write_files({"uk/BUILD": 'files(name="bin", sources=["app.hvt"])\n' + target_line})
    configure(rule_runner, [*offline_options(), *options], env=offline_env())
    target = rule_runner.get_target(Address("uk", target_name="img"))
    package = rule_runner.request(BuiltPackage, [UnikernelImageFieldSet.create(target)])
    field_set = PublishUnikernelImageFieldSet.create(target)
    processes = rule_runner.request(
        PublishProcesses, [PublishUnikernelImageRequest(field_set, (package,))]
    )
    return list(processes)


def argv(job: PublishPackages) -> List[str]:
    assert job.process is not None
    args = list(job.process.process.argv)
    return args[args.index("push") :]


def test_one_push_per_registry_with_per_registry_settings(rule_runner: RuleRunner) -> None:
    jobs = publish(
        rule_runner,
        'unikernel_image(name="img", repository="u/app", image_tags=["1", "2"],'
        ' registries=["@local", "@mirror", "@lan"])',
        [
            "--pun-registries={"
            "'local': {'address': '127.0.0.1:5000'},"
            "'mirror': {'address': 'mirror.example', 'skip_push': True},"
            "'lan': {'address': 'lan.example:5000', 'insecure': True}}"
        ],
    )
    assert [job.names for job in jobs] == [
        ("127.0.0.1:5000/u/app:1", "127.0.0.1:5000/u/app:2"),
        ("mirror.example/u/app:1", "mirror.example/u/app:2"),
        ("lan.example:5000/u/app:1", "lan.example:5000/u/app:2"),
    ]
    assert argv(jobs[0]) == [
        "push",
        "--progress=plain",
        "uk/img.oci.tar",
        "127.0.0.1:5000/u/app:1",
        "127.0.0.1:5000/u/app:2",
    ]
    assert jobs[1].process is None
    assert jobs[1].description == "(by `skip_push` on registry mirror.example)"
    assert argv(jobs[2])[:3] == ["push", "--progress=plain", "--insecure-registry"]


def test_names_without_a_registry_are_not_pushed_to_docker_hub(rule_runner: RuleRunner) -> None:
    jobs = publish(
        rule_runner,
        'unikernel_image(name="img", image_tags=["1"], registries=[])',
        [],
    )
    (job,) = jobs
    assert job.names == ("uk/img:1",) and job.process is None
    assert "no registry" in (job.description or "")


def test_repository_with_its_own_registry_is_pushed(rule_runner: RuleRunner) -> None:
    jobs = publish(
        rule_runner,
        'unikernel_image(name="img", repository="registry.example.com/u/app", registries=[])',
        [],
    )
    (job,) = jobs
    assert job.names == ("registry.example.com/u/app:latest",)
    assert argv(job)[-1] == "registry.example.com/u/app:latest"


def test_skip_push_on_the_target(rule_runner: RuleRunner) -> None:
    jobs = publish(
        rule_runner,
        'unikernel_image(name="img", registries=["127.0.0.1:5000"], skip_push=True)',
        [],
    )
    assert len(jobs) == 1 and jobs[0].process is None
    assert jobs[0].names == ("127.0.0.1:5000/uk/img:latest",)
    assert jobs[0].description == "(by `skip_push` on uk:img)"


def test_publish_pushes_the_packaged_bytes(rule_runner: RuleRunner, registry: Registry) -> None:
    jobs = publish(
        rule_runner,
        f'unikernel_image(name="img", repository="u/app", image_tags=["1.0", "x"],'
        f' registries=["{registry.host}"], annotations={{"org.example.k": "v"}})',
        [],
    )
    (job,) = jobs
    assert job.process is not None
    with mock_console(rule_runner.options_bootstrapper) as (_, stdio):
        assert rule_runner.run_interactive_process(job.process).exit_code == 0
        assert f"{registry.host}/u/app@sha256:" in stdio.get_stdout()

    target = rule_runner.get_target(Address("uk", target_name="img"))
    package = rule_runner.request(BuiltPackage, [UnikernelImageFieldSet.create(target)])
    image = next(a for a in package.artifacts if isinstance(a, BuiltUnikernelImage))
    skopeo = [require("skopeo"), "inspect", "--raw", "--tls-verify=false"]
    by_digest = json.loads(
        run([*skopeo, f"docker://{registry.host}/u/app@{image.image_digest}"]).stdout
    )
    assert by_digest["annotations"]["org.example.k"] == "v"
    assert by_digest["annotations"]["com.urunc.unikernel.hypervisor"] == "hvt"
    for tag in ("1.0", "x"):
        tagged = run([*skopeo, f"docker://{registry.host}/u/app:{tag}"]).stdout
        assert json.loads(tagged) == by_digest
