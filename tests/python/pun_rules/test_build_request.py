"""What `prepare_build` derives from a target (RuleRunner, no process): image names and
placeholders, `{pants.hash}` and the LLB's unique id, and the errors that name the target."""

from __future__ import annotations

from textwrap import dedent
from typing import Dict

import pytest
from pants.engine.addresses import Address
from pants.engine.internals.scheduler import ExecutionError
from pants.testutil.rule_runner import QueryRule, RuleRunner

from pun_rules.field_sets import UnikernelImageFieldSet
from pun_rules.util_rules.build_request import UnikernelBuildRequest
from pun_testing.pants_rules import configure, new_rule_runner

CONTAINERFILE = dedent(
    """\
    FROM scratch
    ARG NAME=app
    COPY app.hvt /unikernel/${NAME}.hvt
    LABEL com.urunc.unikernel.binary=/unikernel/${NAME}.hvt
    LABEL com.urunc.unikernel.cmdline="app"
    LABEL com.urunc.unikernel.unikernelType="rumprun"
    LABEL com.urunc.unikernel.hypervisor="hvt"
    """
)


@pytest.fixture
def rule_runner() -> RuleRunner:
    return new_rule_runner([QueryRule(UnikernelBuildRequest, [UnikernelImageFieldSet])])


def write(rule_runner: RuleRunner, target: str, extra: Dict[str, str] = {}) -> None:
    rule_runner.write_files(
        {
            "uk/app/BUILD": 'files(name="bin", sources=["app.hvt"])\n' + target,
            "uk/app/Containerfile": CONTAINERFILE,
            "uk/app/app.hvt": "kernel",
            **extra,
        }
    )


def prepare(rule_runner: RuleRunner, name: str = "img") -> UnikernelBuildRequest:
    target = rule_runner.get_target(Address("uk/app", target_name=name))
    return rule_runner.request(UnikernelBuildRequest, [UnikernelImageFieldSet.create(target)])


def names(request: UnikernelBuildRequest) -> list:
    return [n.name for n in request.names]


def test_default_name_is_directory_and_target(rule_runner: RuleRunner) -> None:
    write(rule_runner, 'unikernel_image(name="img")')
    request = prepare(rule_runner)
    assert names(request) == ["app/img:latest"]
    assert request.archive == "uk.app/img.oci.tar"
    assert request.output == "oci" and request.strict and not request.squash


def test_registries_repository_tags_and_placeholders(rule_runner: RuleRunner) -> None:
    write(
        rule_runner,
        dedent(
            """\
            unikernel_image(
                name="img",
                repository="unikernels/{parent_directory}-{name}",
                image_tags=["1.0", "{build_args.NAME}", "{pants.hash}"],
                registries=["@local", "registry.example.com:5000"],
                build_args=["NAME=redis"],
                output="docker",
            )
            """
        ),
    )
    configure(rule_runner, ["--pun-registries={'local': {'address': '127.0.0.1:5000'}}"])
    request = prepare(rule_runner)
    h = request.pants_hash
    assert len(h) == 64
    assert names(request) == [
        "127.0.0.1:5000/unikernels/uk-img:1.0",
        "127.0.0.1:5000/unikernels/uk-img:redis",
        f"127.0.0.1:5000/unikernels/uk-img:{h}",
        "registry.example.com:5000/unikernels/uk-img:1.0",
        "registry.example.com:5000/unikernels/uk-img:redis",
        f"registry.example.com:5000/unikernels/uk-img:{h}",
    ]
    assert request.archive == "uk.app/img.docker.tar"


def test_default_registries_come_from_options(rule_runner: RuleRunner) -> None:
    write(rule_runner, 'unikernel_image(name="img")\nunikernel_image(name="none", registries=[])')
    configure(
        rule_runner,
        [
            "--pun-registries={'a': {'address': 'a.example', 'default': True},"
            " 'b': {'address': 'b.example'}}"
        ],
    )
    assert names(prepare(rule_runner)) == ["a.example/app/img:latest"]
    assert names(prepare(rule_runner, "none")) == ["app/none:latest"]


def test_hash_and_unique_id_follow_the_inputs(rule_runner: RuleRunner) -> None:
    write(rule_runner, 'unikernel_image(name="img")\nunikernel_image(name="twin")')
    first = prepare(rule_runner)
    twin = prepare(rule_runner, "twin")
    # Same Containerfile and context, another target: the same LLB and hash.
    assert first.definition == twin.definition
    assert first.pants_hash == twin.pants_hash
    assert first.unique_id == first.context.digest.fingerprint
    assert first.unique_id.encode() in first.definition  # the local source's `local.unique`

    rule_runner.write_files({"uk/app/app.hvt": "kernel v2"})
    changed = prepare(rule_runner)
    assert changed.unique_id != first.unique_id
    assert changed.pants_hash != first.pants_hash

    write(rule_runner, 'unikernel_image(name="img", annotations={"k": "v"})')
    assert prepare(rule_runner).pants_hash not in (first.pants_hash, changed.pants_hash)


def test_uppercase_repository_is_rejected_with_the_fix(rule_runner: RuleRunner) -> None:
    write(rule_runner, 'unikernel_image(name="img", repository="Unikernels/App")')
    with pytest.raises(ExecutionError) as raised:
        prepare(rule_runner)
    message = str(raised.value)
    assert "unikernel_image uk/app:img: the image name 'Unikernels/App:latest' is not valid" in (
        message
    )
    assert "must be lowercase" in message and "hint:" in message


def test_unknown_placeholder_names_the_field(rule_runner: RuleRunner) -> None:
    write(rule_runner, 'unikernel_image(name="img", image_tags=["{pants.nope}"])')
    with pytest.raises(ExecutionError) as raised:
        prepare(rule_runner)
    message = str(raised.value)
    assert "`image_tags` field of the `unikernel_image` target at uk/app:img" in message
    assert "nope" in message


def test_unknown_registry_alias(rule_runner: RuleRunner) -> None:
    write(rule_runner, 'unikernel_image(name="img", registries=["@prod"])')
    with pytest.raises(ExecutionError) as raised:
        prepare(rule_runner)
    assert "unikernel_image uk/app:img names registry @prod" in str(raised.value)
    assert "[pun.registries.prod]" in str(raised.value)


def test_strict_urunc_check_names_target_and_line(rule_runner: RuleRunner) -> None:
    broken = CONTAINERFILE.replace('LABEL com.urunc.unikernel.hypervisor="hvt"', "")
    write(
        rule_runner,
        'unikernel_image(name="img")\nunikernel_image(name="lax", strict=False)',
        {"uk/app/Containerfile": broken},
    )
    with pytest.raises(ExecutionError) as raised:
        prepare(rule_runner)
    message = str(raised.value)
    assert "unikernel_image uk/app:img: uk/app/Containerfile" in message
    assert "hypervisor" in message
    assert not prepare(rule_runner, "lax").strict


def test_squash_needs_the_embedded_builder(rule_runner: RuleRunner) -> None:
    write(rule_runner, 'unikernel_image(name="img", squash=True)')
    assert prepare(rule_runner).squash
    configure(rule_runner, ["--pun-builder=buildctl"])
    with pytest.raises(ExecutionError) as raised:
        prepare(rule_runner)
    assert "unikernel_image uk/app:img: `squash=True` works with the embedded builder only" in (
        str(raised.value)
    )


@pytest.mark.parametrize(
    "field, message",
    [
        ('platform="linux/amd64/v2/x"', "The `platform` field of uk/app:img: invalid platform"),
        ('context_root="../.."', "lies outside the build root"),
        ('output="tar"', "output"),
    ],
)
def test_invalid_fields_name_the_target(rule_runner: RuleRunner, field: str, message: str) -> None:
    write(rule_runner, f'unikernel_image(name="img", {field})')
    with pytest.raises(ExecutionError) as raised:
        prepare(rule_runner)
    assert message in str(raised.value)
    assert "uk/app:img" in str(raised.value)
