"""A base image's config for planning, as BuildKit's Dockerfile frontend resolves it before it
converts (`dockerfile2llb` MetaResolver.ResolveImageConfig): the manifest for the platform the
LLB pulls the image for, and its config, with the registry client and blob cache every pull
uses (so the build that follows finds them cached). Only `pun.api.BasePlanner` asks,
and only for a plan whose meaning depends on the base (PackPlan.needs_base_config) or that
failed after FROM <image> without its config (BaseUnknownError)."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from pun.imagespec import BaseSpec
from pun.oci.cache import BlobCache, default_cache_dir
from pun.oci.pull import pull
from pun.progress import Progress


def resolve_image_config(
    base: BaseSpec,
    cache_dir: Optional[str] = None,
    insecure: bool = False,
    archives: Mapping[str, str] = {},
    progress: str = "auto",
) -> Dict[str, Any]:
    """The image config JSON of `base` (raises PunError naming the image when it cannot)."""
    cache = BlobCache(cache_dir or default_cache_dir())
    pulled = pull(
        base.reference, base.platform, cache, Progress(progress), insecure, archives, layers=False
    )
    return pulled.config_json()
