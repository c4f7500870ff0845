"""The build as one sandboxed, cacheable `Process`: `pun build` from the pun tool PEX.

Inputs: the context under `.pun-context/`, the planned Definition and image spec (made once by
`prepare_build`; the process does not parse the Containerfile again), and for the buildctl
builder the buildctl binary. Outputs: the archive (at its dist path) and pun's
metadata file. Base-image blobs go to a named cache, which is not part of the cache key.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Tuple

from pants.backend.python.util_rules.pex import VenvPexProcess
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.fs import AddPrefix, Digest, MergeDigests
from pants.engine.internals.native_engine import EMPTY_DIGEST
from pants.engine.process import Process
from pants.engine.rules import Get, collect_rules, rule
from pants.util.logging import LogLevel

from pun_rules.subsystems.buildctl import BuildctlBinary, BuildctlBinaryRequest
from pun_rules.subsystems.pun import Builder, PunSubsystem
from pun_rules.subsystems.pun_tool import PunToolPex
from pun_rules.util_rules.base_config import CACHE_DIR, CACHE_NAME
from pun_rules.util_rules.build_request import DEFINITION_FILE, SPEC_FILE, UnikernelBuildRequest

CONTEXT_DIR = ".pun-context"
METADATA_FILE = ".pun-metadata.json"
BUILDCTL_DIR = ".pun-buildctl"


def output_spec(kind: str, dest: str, names: Iterable[str]) -> str:
    """buildctl's `--output` syntax; CSV-quoted so several names fit in one `name=` value."""
    fields = [f"type={kind}", f"dest={dest}"]
    joined = ",".join(names)
    if joined:
        fields.append(f"name={joined}")
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue()


def build_argv(
    request: UnikernelBuildRequest,
    pun_options: PunSubsystem,
    buildctl: Optional[str],
    buildkit_address: Optional[str],
) -> Tuple[str, ...]:
    """`pun build` arguments (after the PEX): the planned files, then only output, cache and
    builder flags — nothing that shapes the LLB."""
    planned = [(p.definition_file, p.spec_file) for p in request.platform_plans] or [
        (DEFINITION_FILE, SPEC_FILE)
    ]
    argv = [
        "build",
        *(f for d, s in planned for f in (f"--definition={d}", f"--image-spec={s}")),
        f"--context={CONTEXT_DIR}",
        f"--output={output_spec(request.output, request.archive, (n.name for n in request.names))}",
        f"--metadata-file={METADATA_FILE}",
        *request.build_options,  # the target's PunBuildOptionFields
        f"--source-date-epoch={pun_options.source_date_epoch}",
        f"--cache-dir={CACHE_DIR}",
        "--progress=plain",
        f"--builder={pun_options.builder.value}",
    ]
    argv.extend(image.argv() for image in request.upstream.images)
    if buildctl is not None:
        argv.append(f"--buildctl={buildctl}")
        if buildkit_address:
            argv.append(f"--buildkit-addr={buildkit_address}")
    return tuple(argv)


@dataclass(frozen=True)
class UnikernelBuildProcess:
    process: Process


@rule(desc="Set up a unikernel image build process")
async def build_process(
    request: UnikernelBuildRequest, pun_options: PunSubsystem, tool: PunToolPex
) -> UnikernelBuildProcess:
    env = await Get(
        EnvironmentVars,
        EnvironmentVarsRequest([*pun_options.env_vars, "BUILDKIT_HOST"]),
    )
    extra_env = {k: v for k, v in env.items() if k != "BUILDKIT_HOST"}
    buildctl_exe: Optional[str] = None
    address: Optional[str] = None
    inputs = [
        await Get(Digest, AddPrefix(request.context.digest, CONTEXT_DIR)),
        request.plan,
        request.upstream.digest,
    ]
    if pun_options.builder == Builder.buildctl:
        buildctl = await Get(BuildctlBinary, BuildctlBinaryRequest())
        if buildctl.digest != EMPTY_DIGEST:
            inputs.append(await Get(Digest, AddPrefix(buildctl.digest, BUILDCTL_DIR)))
            buildctl_exe = f"{BUILDCTL_DIR}/{buildctl.exe.lstrip('./')}"
        else:
            buildctl_exe = buildctl.exe
        # A different buildctl may build differently: make it part of the cache key.
        extra_env["PUN_BUILDCTL_FINGERPRINT"] = buildctl.fingerprint
        address = pun_options.buildkit_address or env.get("BUILDKIT_HOST") or None
    input_digest = await Get(Digest, MergeDigests(inputs))
    process = await Get(
        Process,
        VenvPexProcess(
            tool.pex,
            argv=build_argv(request, pun_options, buildctl_exe, address),
            description=f"Building unikernel image {request.address}",
            level=LogLevel.INFO,
            input_digest=input_digest,
            extra_env=extra_env,
            output_files=(request.archive, METADATA_FILE),
            append_only_caches={CACHE_NAME: CACHE_DIR},
        ),
    )
    return UnikernelBuildProcess(process)


def rules() -> Iterable[Any]:
    return collect_rules()
