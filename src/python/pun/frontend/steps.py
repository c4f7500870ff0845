"""Warnings as named build steps, for daemons without the gateway's Warn call.

Docker Engine 20.10's BuildKit has no way for a frontend to print a warning in the client's
progress output, but it prints the name of every step it runs. So each warning becomes one
tiny step, named after it, in a side definition that is evaluated once and never exported:
`docker build` then shows `[pun] Containerfile:4: warning: RUN is ignored: …`.
"""

from __future__ import annotations

from typing import Callable, Sequence

from pun.diagnostics import Diagnostic
from pun.frontend.bridge import Bridge, BridgeError
from pun.llb.identity import new_id
from pun.llb.marshal import MarshalOptions, marshal
from pun.llb.state import Mkfile, State, scratch

STEP_PREFIX = "[pun] "
_NOTE_PATH = "/pun-warning"


def warnings_definition(diagnostics: Sequence[Diagnostic]) -> bytes:
    state: State = scratch()
    for diagnostic in diagnostics:
        headline = diagnostic.render().split("\n", 1)[0]
        # The text is also the file's content, so each distinct warning is its own step.
        note = Mkfile(_NOTE_PATH, 0o644, diagnostic.render().encode("utf-8"))
        state = state.file(note, custom_name=STEP_PREFIX + headline)
    return marshal(state, MarshalOptions(local_unique_id=new_id()))


def show_as_steps(
    bridge: Bridge,
    diagnostics: Sequence[Diagnostic],
    *,
    array_ref: bool,
    log: Callable[[str], None],
) -> None:
    if not diagnostics:
        return
    try:
        ref = bridge.solve(warnings_definition(diagnostics), array_ref=array_ref)
        bridge.read_file(ref, _NOTE_PATH)  # Solve is lazy: reading runs (and shows) the steps
    except BridgeError as exc:
        log(f"could not show the warnings as build steps: {exc}")
