"""A small client for the OCI distribution API (pull and push), on top of `requests`.

Auth follows the registry's `WWW-Authenticate` challenge: Bearer tokens from the realm it names
(anonymous, or with Docker-config credentials), or Basic. One client serves one repository and
asks for the scope it needs up front (`pull`, or `pull,push`), so a push never reuses a
pull-only token. Bodies are streamed both ways; nothing holds a whole blob in memory.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Dict, Iterable, List, Optional
from urllib.parse import urljoin

import requests

from pun.diagnostics import PunError, error
from pun.oci.registry.credentials import Credentials, lookup
from pun.progress import Progress

MANIFEST_ACCEPT = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 120.0
CHUNK = 1024 * 1024
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
_LOOPBACK = ("localhost", "127.", "[::1]")


def is_loopback(domain: str) -> bool:
    host = domain.split(":", 1)[0] if not domain.startswith("[") else domain
    return host == "localhost" or host.startswith(_LOOPBACK)


def api_host(domain: str) -> str:
    return "registry-1.docker.io" if domain == "docker.io" else domain


@dataclass(frozen=True)
class Manifest:
    data: bytes
    media_type: str
    digest: str


class RegistryClient:
    """Distribution API calls for one repository on one registry."""

    def __init__(
        self,
        domain: str,
        repository: str,
        push: bool = False,
        insecure: bool = False,
        credentials: Optional[Callable[[str], Optional[Credentials]]] = None,
    ) -> None:
        self.domain = domain
        self.repository = repository
        # Like docker and BuildKit: loopback registries speak plain HTTP.
        scheme = "http" if insecure or is_loopback(domain) else "https"
        self._base = f"{scheme}://{api_host(domain)}/v2/{repository}"
        self._scope = f"repository:{repository}:{'pull,push' if push else 'pull'}"
        self._session = requests.Session()
        self._authorization: Optional[str] = None
        self._lookup = credentials or lookup
        self._credentials: Optional[Credentials] = None
        self._looked_up = False

    # --- plumbing --------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        url: str,
        headers: Optional[Dict[str, str]] = None,
        body: Optional[Callable[[], Any]] = None,
        stream: bool = False,
    ) -> requests.Response:
        for attempt in range(2):
            sent = dict(headers or {})
            if self._authorization:
                sent["Authorization"] = self._authorization
            try:
                response = self._session.request(
                    method,
                    url,
                    headers=sent,
                    data=body() if body else None,
                    stream=stream,
                    timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                )
            except requests.RequestException as exc:
                raise self._unreachable(exc) from None
            if response.status_code == 401 and attempt == 0 and self._authenticate(response):
                response.close()
                continue
            return response
        return response

    def _unreachable(self, exc: Exception) -> PunError:
        reason = (
            str(exc.__context__ or exc) if isinstance(exc, requests.ConnectionError) else str(exc)
        )
        return error(
            f"registry {self.domain} failed: {reason}",
            hint="check the registry address, the network and that the registry is running",
        )

    def _creds(self) -> Optional[Credentials]:
        if not self._looked_up:
            self._credentials, self._looked_up = self._lookup(self.domain), True
        return self._credentials

    def _authenticate(self, challenge: requests.Response) -> bool:
        header = challenge.headers.get("WWW-Authenticate", "")
        scheme = header.split(" ", 1)[0].lower()
        params = dict(_CHALLENGE_PARAM.findall(header))
        creds = self._creds()
        if scheme == "basic":
            if creds is None:
                return False
            token = base64.b64encode(f"{creds.username}:{creds.password}".encode("utf-8")).decode(
                "ascii"
            )
            self._authorization = f"Basic {token}"
            return True
        if scheme != "bearer" or "realm" not in params:
            return False
        query = {"scope": self._scope}
        if params.get("service"):
            query["service"] = params["service"]
        auth = (creds.username, creds.password) if creds else None
        try:
            answer = self._session.get(
                params["realm"], params=query, auth=auth, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT)
            )
        except requests.RequestException as exc:
            raise self._unreachable(exc) from None
        if answer.status_code != 200:
            raise error(
                f"registry {self.domain}: the token service refused "
                f"{'the credentials' if creds else 'anonymous access'} "
                f"for {self._scope} (HTTP {answer.status_code})",
                hint="log in with `docker login "
                + self.domain
                + "` (pun reads ~/.docker/config.json)",
            )
        try:
            body = answer.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise error(
                f"registry {self.domain}: the token service at {params['realm']} did not "
                "answer with JSON",
                hint="check the registry's auth configuration",
            )
        bearer = body.get("token") or body.get("access_token")
        if not bearer:
            return False
        self._authorization = f"Bearer {bearer}"
        return True

    def _fail(self, response: requests.Response, what: str) -> PunError:
        detail = f"HTTP {response.status_code}"
        try:
            errors = response.json().get("errors") or []
            if errors:
                detail += ": " + "; ".join(
                    f"{e.get('code', '')} {e.get('message', '')}".strip() for e in errors
                )
        except ValueError:
            pass
        hint = "check the image name and your access rights"
        if response.status_code in (401, 403):
            hint = f"log in with `docker login {self.domain}` (pun reads ~/.docker/config.json)"
        return error(
            f"registry {self.domain}: {what} {self.repository} failed ({detail})", hint=hint
        )

    # --- pull ------------------------------------------------------------------------------------

    def get_manifest(self, reference: str) -> Manifest:
        url = f"{self._base}/manifests/{reference}"
        response = self._request("GET", url, {"Accept": ", ".join(MANIFEST_ACCEPT)}, stream=True)
        with response:
            if response.status_code == 404:
                raise error(
                    f"image {self.domain}/{self.repository}:{reference} not found "
                    f"(registry {self.domain})",
                    hint="check the FROM line: name, tag and registry",
                )
            if response.status_code != 200:
                raise self._fail(response, f"reading manifest {reference} of")
            data = _read_limited(response.iter_content(CHUNK), MAX_MANIFEST_BYTES)
        media_type = response.headers.get("Content-Type", "").split(";", 1)[0].strip()
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if reference.startswith("sha256:") and digest != reference:
            raise error(
                f"registry {self.domain} sent a manifest whose digest is {digest}, "
                f"not the {reference} asked for",
                hint="the registry is misbehaving",
            )
        return Manifest(data, media_type, digest)

    def fetch_blob(self, digest: str, sink: BinaryIO, progress: Optional[Progress] = None) -> None:
        response = self._request("GET", f"{self._base}/blobs/{digest}", stream=True)
        with response:
            if response.status_code != 200:
                raise self._fail(response, f"downloading blob {digest} of")
            for chunk in response.iter_content(CHUNK):
                sink.write(chunk)
                if progress is not None:
                    progress.advance(len(chunk))

    # --- push ------------------------------------------------------------------------------------

    def has_blob(self, digest: str) -> bool:
        response = self._request("HEAD", f"{self._base}/blobs/{digest}")
        response.close()
        return response.status_code == 200

    def upload_blob(
        self, digest: str, size: int, path: str, progress: Optional[Progress] = None
    ) -> None:
        """Monolithic upload (POST then one streamed PUT); the registry verifies the digest."""
        response = self._request("POST", f"{self._base}/blobs/uploads/", {"Content-Length": "0"})
        response.close()
        if response.status_code != 202 or "Location" not in response.headers:
            raise self._fail(response, "starting an upload to")
        location = urljoin(self._base, response.headers["Location"])
        separator = "&" if "?" in location else "?"
        url = f"{location}{separator}digest={digest}"

        # One body per attempt (a retry or an auth round trip starts the file again); all of
        # them are closed however the upload ends, a connection cut midway included.
        bodies: List[_FileBody] = []

        def body() -> Any:
            bodies.append(_FileBody(path, size, progress))
            return bodies[-1]

        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        try:
            response = self._request("PUT", url, headers, body=body)
        finally:
            for opened in bodies:
                opened.close()
        response.close()
        if response.status_code not in (201, 204):
            raise self._fail(response, f"uploading blob {digest} to")

    def put_manifest(self, reference: str, data: bytes, media_type: str) -> None:
        response = self._request(
            "PUT",
            f"{self._base}/manifests/{reference}",
            {"Content-Type": media_type},
            body=lambda: data,
        )
        response.close()
        if response.status_code not in (200, 201, 204):
            raise self._fail(response, f"storing manifest {reference} in")


class _FileBody:
    """A file body with a known length, read in chunks (requests streams it, never buffers it)."""

    def __init__(self, path: str, size: int, progress: Optional[Progress]) -> None:
        self._handle = open(path, "rb")
        self._size = size
        self._progress = progress

    def __len__(self) -> int:
        return self._size

    def read(self, n: int = -1) -> bytes:
        data = self._handle.read(CHUNK if n is None or n < 0 else n)
        if not data:
            self._handle.close()
        elif self._progress is not None:
            self._progress.advance(len(data))
        return data

    def close(self) -> None:
        self._handle.close()


def _read_limited(chunks: Iterable[bytes], limit: int) -> bytes:
    parts = []
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise error(
                f"a manifest larger than {limit} bytes was refused",
                hint="the registry sent something that is not a manifest",
            )
        parts.append(chunk)
    return b"".join(parts)
