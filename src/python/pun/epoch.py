"""SOURCE_DATE_EPOCH (reproducible-builds.org's convention): the one parser for its text, from
the environment (`pun build`, `pun rootfs`, `pun initrd`) or a build arg (the frontend)."""

from __future__ import annotations

from pun.diagnostics import error

SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"


def parse_epoch(text: str, what: str, hint: str, path: str = "") -> int:
    """Seconds since 1970 from `text` (0 when it is empty or blank), else a PunError saying
    `what` held it (e.g. "SOURCE_DATE_EPOCH", "build-arg SOURCE_DATE_EPOCH")."""
    text = text.strip()
    if not text:
        return 0
    if not text.isdigit():
        raise error(f"{what}={text!r} is not a number of seconds", path, hint=hint)
    return int(text)
