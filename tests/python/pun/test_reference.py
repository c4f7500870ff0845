"""Image reference normalization: the facts sheet's table of what BuildKit produced (§2.2)."""

from __future__ import annotations

import pytest

from pun.reference import InvalidReference, normalize

ZEROS = "sha256:" + "0" * 64


@pytest.mark.parametrize(
    "written, normalized",
    [
        ("alpine", "docker.io/library/alpine:latest"),
        ("alpine:3.18", "docker.io/library/alpine:3.18"),
        ("unikraft.org/nginx:1.15", "unikraft.org/nginx:1.15"),
        ("localhost:5000/foo", "localhost:5000/foo:latest"),
        (f"alpine@{ZEROS}", f"docker.io/library/alpine@{ZEROS}"),
        (f"alpine:3.18@{ZEROS}", f"docker.io/library/alpine:3.18@{ZEROS}"),
        ("docker.io/library/scratch", "docker.io/library/scratch:latest"),
        ("index.docker.io/user/app", "docker.io/user/app:latest"),
        ("user/app:v1", "docker.io/user/app:v1"),
        ("127.0.0.1:5000/unikernels/base:1.0", "127.0.0.1:5000/unikernels/base:1.0"),
    ],
)
def test_normalize(written: str, normalized: str) -> None:
    assert str(normalize(written)) == normalized


@pytest.mark.parametrize("written", ["Alpine", "SCRATCH", "", "$BASE", "a b", "alpine:", "0" * 64])
def test_invalid(written: str) -> None:
    with pytest.raises(InvalidReference):
        normalize(written)
