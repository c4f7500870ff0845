"""Push a built image: every blob first, then the manifest by digest, then each tag.

The manifest goes up only after the registry holds every blob it names, so a push that fails
or is interrupted part-way leaves no manifest (and no tag) pointing at missing blobs.
"""

from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

from pun.diagnostics import error
from pun.oci.image import BuiltImage
from pun.oci.layers import Blob
from pun.progress import Progress
from pun.reference import ImageReference, InvalidReference, normalize

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pun.oci.registry.client import RegistryClient


def parse_names(names: Sequence[str], what: str = "--output name=") -> List[ImageReference]:
    """Normalize every name; a bad one is a PunError whose message starts with `what`."""
    out = []
    for name in names:
        try:
            out.append(normalize(name))
        except InvalidReference as exc:
            raise error(
                f"{what}{name!r}: {exc}",
                hint="use REGISTRY/REPOSITORY[:TAG], e.g. 127.0.0.1:5000/unikernels/app:1.0",
            ) from None
    return out


def push(
    image: BuiltImage,
    config_path: str,
    names: Sequence[str],
    progress: Progress,
    insecure: bool = False,
) -> List[str]:
    """Push to every name; return the pushed references (`name@digest`).

    `config_path` holds the image config's bytes (what `image.config_digest` names).
    """
    # The registry client (and `requests`) only when pushing: the image writer is also loaded
    # where `requests` is not installed (the Pants plugin's process, the frozen frontend).
    from pun.oci.registry.client import RegistryClient

    pushed = []
    by_repository: Dict[Tuple[str, str], List[ImageReference]] = {}
    for ref in parse_names(names):
        by_repository.setdefault((ref.domain, ref.path), []).append(ref)
    config = Blob(image.config_digest, len(image.config), image.config_media_type, config_path)
    for (domain, path), refs in sorted(by_repository.items()):
        client = RegistryClient(domain, path, push=True, insecure=insecure)
        upload_missing(client, (*image.layers, config), progress)
        client.put_manifest(image.manifest_digest, image.manifest, image.manifest_media_type)
        for ref in refs:
            if ref.tag:
                client.put_manifest(ref.tag, image.manifest, image.manifest_media_type)
        pushed.append(f"{domain}/{path}@{image.manifest_digest}")
    return pushed


def upload_missing(client: RegistryClient, blobs: Sequence[Blob], progress: Progress) -> None:
    """Upload the blobs the registry does not have yet (the manifest naming them comes later)."""
    for blob in blobs:
        if client.has_blob(blob.digest):
            continue
        where = f"{client.domain}/{client.repository}"
        progress.start(f"pushing {blob.digest[:19]} to {where}", blob.size)
        client.upload_blob(blob.digest, blob.size, blob.path, progress)
        progress.finish()
