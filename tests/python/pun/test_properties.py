"""Property tests: any text ends in valid LLB or one clean error; quoted labels round-trip."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pun.api import GenerateOptions, generate
from pun.diagnostics import PunError
from pun.llb.pb import ops_pb2

KEYWORDS = [
    "FROM",
    "COPY",
    "LABEL",
    "ARG",
    "ENV",
    "RUN",
    "from",
    "copy",
    "label",
    "BOGUS",
    "#",
    "# escape=",
]
WORDS = st.sampled_from(
    [
        "scratch",
        "alpine",
        "a",
        "/d/",
        "k=v",
        '"q w"',
        "'s'",
        "$X",
        "${X:-y}",
        "\\",
        "--chmod=7",
        '["a","/b"]',
        "=",
        '"',
        "'",
        "<<EOF",
        "AS",
        "x:y",
        "--from=z",
        "unikraft.org/n:1",
        "\t",
        "ü",
        "a<b&c",
    ]
)
LINE = st.one_of(
    st.builds(
        lambda k, ws: " ".join([k, *ws]), st.sampled_from(KEYWORDS), st.lists(WORDS, max_size=4)
    ),
    st.text(max_size=30),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(LINE, max_size=8))
def test_any_text_gives_llb_or_one_clean_error(lines: list) -> None:
    text = "\n".join(lines)
    try:
        generated = generate(text, GenerateOptions(local_unique_id="p"))
    except PunError as exc:
        assert exc.diagnostics and all(d.message for d in exc.diagnostics)
        assert all(d.path == "Containerfile" for d in exc.diagnostics)
        return
    definition = ops_pb2.Definition.FromString(generated.definition)
    assert len(getattr(definition, "def")) >= 2


VALUE = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc"), blacklist_characters="\u2028\u2029\u0085"
    ),
    max_size=40,
)


def double_quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


@settings(max_examples=200, deadline=None)
@given(VALUE)
def test_double_quoted_label_values_round_trip(value: str) -> None:
    plan = generate(f"FROM scratch\nLABEL key={double_quoted(value)}\n").plan
    assert plan.label_values() == {"key": value}


@settings(max_examples=200, deadline=None)
@given(VALUE.filter(lambda v: "'" not in v))
def test_single_quoted_label_values_round_trip(value: str) -> None:
    plan = generate(f"FROM scratch\nLABEL 'my key'='{value}'\n").plan
    assert plan.label_values() == {"my key": value}
