"""`pun` as a gateway frontend: stdio -> gRPC channel -> Ping -> build -> Return.

Only imported once the CLI knows BuildKit started us, so grpc stays off `pun --LLB`'s path.
Exit status: 0 when the result was returned; 1 when the build failed (the error was returned
to the daemon, which shows it to the user) or the daemon could not be reached.
"""

from __future__ import annotations

import os
import time
import traceback
from typing import Mapping, Optional

import grpc

from pun.diagnostics import PunError
from pun.frontend.bridge import CHANNEL_OPTIONS, Bridge, BridgeError
from pun.frontend.build import Log, render_error, run_build, stderr_log
from pun.frontend.caps import PROTO_REFARRAY
from pun.frontend.environment import read_environment
from pun.frontend.stdio import StdioRelay, take_stdio

EXIT_OK, EXIT_FAILURE = 0, 1
# google.rpc.Code values for Return's error.
UNKNOWN, INVALID_ARGUMENT, INTERNAL = 2, 3, 13


def run(environ: Optional[Mapping[str, str]] = None) -> int:
    began = time.monotonic()
    relay = StdioRelay(take_stdio(), stderr_log)  # from here on fd 1 is not the daemon's pipe
    relay.start()
    try:
        return serve(relay.target, dict(os.environ if environ is None else environ), began)
    finally:
        relay.close()


def serve(target: str, environ: Mapping[str, str], began: float, log: Log = stderr_log) -> int:
    with grpc.insecure_channel(target, options=CHANNEL_OPTIONS) as channel:
        bridge = Bridge(channel)
        try:
            pong = bridge.ping()
        except BridgeError as exc:
            log(f"cannot talk to BuildKit over stdin/stdout: {exc}")
            return EXIT_FAILURE
        log(
            f"ready {since_process_start_ms()} ms after process start "
            f"({(time.monotonic() - began) * 1000:.0f} ms after its imports)"
        )
        try:
            result = run_build(bridge, read_environment(environ), pong, log)
        except PunError as exc:
            lines = render_error(exc)
            for line in lines:
                log(line)
            return _return_error(bridge, INVALID_ARGUMENT, "\n".join(lines), log)
        except BridgeError as exc:
            log(str(exc))
            return _return_error(bridge, UNKNOWN, f"pun: {exc}", log)
        except Exception as exc:  # a bug: still tell the user, not only the daemon's log
            log("internal error:\n" + traceback.format_exc())
            return _return_error(bridge, INTERNAL, f"pun: internal error: {exc!r}", log)
        try:
            bridge.return_result(
                result.ref,
                result.metadata,
                array_ref=pong.caps.supports(PROTO_REFARRAY),
                platform_refs=result.platform_refs,
            )
        except BridgeError as exc:
            log(f"cannot return the result: {exc}")
            return EXIT_FAILURE
        log(f"returned the result {(time.monotonic() - began) * 1000:.0f} ms after start")
        return EXIT_OK


def _return_error(bridge: Bridge, code: int, message: str, log: Log) -> int:
    try:
        bridge.return_error(code, message)
    except BridgeError as exc:
        log(f"cannot return the error: {exc}")
    return EXIT_FAILURE


def since_process_start_ms() -> str:
    """Milliseconds since the kernel started this process (or its launcher, when frozen)."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        with open("/proc/uptime") as handle:
            uptime_s = float(handle.read().split()[0])
        started = _start_ticks(os.getpid())
        if _parent_is_same_program():
            started = _start_ticks(os.getppid())  # a onefile bundle's unpacking parent came first
        return f"{(uptime_s - started / ticks) * 1000:.0f}"
    except (OSError, ValueError, IndexError):
        return "?"


def _parent_is_same_program() -> bool:
    try:
        return os.readlink("/proc/self/exe") == os.readlink(f"/proc/{os.getppid()}/exe")
    except OSError:
        return False  # no parent in our PID namespace (we are PID 1 in BuildKit's container)


def _start_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as handle:
        # Field 22 (starttime); the name in field 2 may hold spaces, so count after its ')'.
        return int(handle.read().rsplit(")", 1)[1].split()[19])
