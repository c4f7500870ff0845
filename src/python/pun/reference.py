"""Image references normalized the way BuildKit's `llb.Image` does it.

That is distribution/reference's `ParseNormalizedNamed` followed by `TagNameOnly`:
`alpine` -> `docker.io/library/alpine:latest`; a digest-only reference gets no tag.
"""

from __future__ import annotations

from pun.records import Record

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    import re
    from typing import Optional

DEFAULT_DOMAIN = "docker.io"
_LEGACY_DEFAULT_DOMAIN = "index.docker.io"
_OFFICIAL_REPO_PREFIX = "library/"
_NAME_TOTAL_LENGTH_MAX = 255

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_DOMAIN = rf"(?:{_DOMAIN_NAME}|{_IPV6})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"
_REFERENCE_PATTERN = (
    rf"^(?P<name>(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$"
)


class InvalidReference(ValueError):
    pass


class ImageReference(Record):
    domain: str
    path: str
    tag: Optional[str]
    digest: Optional[str]

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.path}"

    def __str__(self) -> str:
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


def normalize(reference: str) -> ImageReference:
    """Parse and normalize like BuildKit; a name with neither tag nor digest gets `:latest`."""
    if _is_hex64(reference):
        raise InvalidReference(
            f"invalid repository name ({reference}), cannot specify 64-byte hexadecimal strings"
        )
    domain, remainder = _split_domain(reference)
    remote_name = remainder.split(":", 1)[0] if ":" in remainder else remainder
    if remote_name.lower() != remote_name:
        raise InvalidReference(
            f"invalid reference format: repository name ({remote_name}) must be lowercase"
        )
    match = _reference_regex().match(f"{domain}/{remainder}")
    if match is None:
        raise InvalidReference("invalid reference format")
    name = match.group("name")
    if len(name) > _NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(
            f"repository name must not be more than {_NAME_TOTAL_LENGTH_MAX} characters"
        )
    path = name[len(domain) + 1 :]
    tag = match.group("tag")
    digest = match.group("digest")
    if tag is None and digest is None:
        tag = "latest"
    return ImageReference(domain=domain, path=path, tag=tag, digest=digest)


def _is_hex64(text: str) -> bool:
    """`^[a-f0-9]{64}$` as `re.match` reads it (`$` also matches before a final newline),
    without `re`: FROM scratch never needs a regex, and start-up time matters."""
    body = text[:-1] if text.endswith("\n") else text
    return len(body) == 64 and all(c in "0123456789abcdef" for c in body)


def _reference_regex() -> "re.Pattern[str]":
    import re  # on first use; re caches the compiled pattern

    return re.compile(_REFERENCE_PATTERN)


def _split_domain(name: str) -> "tuple[str, str]":
    slash = name.find("/")
    head = name[:slash] if slash != -1 else ""
    if slash == -1 or (
        not any(c in head for c in ".:") and head != "localhost" and head.lower() == head
    ):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = head, name[slash + 1 :]
    if domain == _LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = _OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder
