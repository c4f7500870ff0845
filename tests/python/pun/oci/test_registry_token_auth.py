"""Bearer-token auth, the scheme Docker Hub and most registries use, in front of a real registry.

A small gatekeeper on 127.0.0.1 answers like a token-protected registry: 401 with a Bearer
challenge naming its token service, tokens only for the Docker-config credentials, and only
requests carrying a token for the right scope pass through to the real docker-registry.
"""

from __future__ import annotations

import base64
import http.client
import http.server
import json
import threading
import urllib.parse
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

from pun_testing.building import pun_build
from pun_testing.registry import Registry, registry
from pun_testing.rootfs import writable_copy
from pun_testing.shared import CASES

__all__ = ["registry"]  # pytest fixture, used by name below
USER, PASSWORD = "pun", "t0ken-s3cret"


class Gatekeeper:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.scopes: List[str] = []
        gate = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, body: bytes, headers: List[Tuple[str, str]]) -> None:
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _token(self) -> None:
                query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self._reply(401, b'{"details":"bad credentials"}', [])
                    return
                scope = query.get("scope", [""])[0]
                gate.scopes.append(scope)
                self._reply(
                    200,
                    json.dumps({"token": f"tok:{scope}"}).encode(),
                    [("Content-Type", "application/json")],
                )

            def _handle(self) -> None:
                if self.path.startswith("/token"):
                    self._token()
                    return
                repository = (
                    self.path.split("/v2/", 1)[-1].split("/blobs/")[0].split("/manifests/")[0]
                )
                action = "pull" if self.command in ("GET", "HEAD") else "pull,push"
                scope = f"repository:{repository}:{action}"
                # A pull,push token also allows pulls; a pull token never allows a push.
                allowed = {f"Bearer tok:repository:{repository}:pull,push"}
                if action == "pull":
                    allowed.add(f"Bearer tok:repository:{repository}:pull")
                if self.path != "/v2/" and self.headers.get("Authorization") not in allowed:
                    challenge = (
                        f'Bearer realm="http://{self.headers["Host"]}/token",'
                        f'service="pun-test",scope="{scope}"'
                    )
                    self._reply(
                        401,
                        b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                        [("WWW-Authenticate", challenge)],
                    )
                    return
                self._forward()

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                host, port = gate.upstream.split(":")
                connection = http.client.HTTPConnection(host, int(port), timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "authorization"}
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                data = answer.read()
                passed = [
                    (k, v)
                    for k, v in answer.getheaders()
                    if k.lower() not in ("content-length", "transfer-encoding", "connection")
                ]
                self._reply(answer.status, data, passed)
                connection.close()

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = _handle

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def gatekeeper(registry: Registry) -> Iterator[Gatekeeper]:
    gate = Gatekeeper(registry.host)
    try:
        yield gate
    finally:
        gate.close()


def docker_config(tmp_path: Path, host: str) -> str:
    directory = tmp_path / "docker"
    directory.mkdir()
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (directory / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    return str(directory)


def test_push_and_pull_with_bearer_tokens(tmp_path: Path, gatekeeper: Gatekeeper) -> None:
    config = docker_config(tmp_path, gatekeeper.host)
    name = f"{gatekeeper.host}/team/base:1.0"
    context = writable_copy(CASES / "scratch-single", tmp_path / "ctx")
    pushed = pun_build(
        ["--context", str(context), "--output", f"type=image,name={name},push=true"],
        tmp_path / "cache",
        {"DOCKER_CONFIG": config},
    )
    assert pushed.code == 0, pushed.err
    assert gatekeeper.scopes == ["repository:team/base:pull,push"]  # one token for the whole push

    (context / "Containerfile").write_text(f"FROM {name}\nCOPY hello.hvt /again.hvt\n")
    dest = tmp_path / "rootfs"
    pulled = pun_build(
        ["--context", str(context), "--output", f"type=local,dest={dest}"],
        tmp_path / "cache2",
        {"DOCKER_CONFIG": config},
    )
    assert pulled.code == 0, pulled.err
    assert gatekeeper.scopes[-1] == "repository:team/base:pull"
    assert (dest / "again.hvt").read_bytes() == (dest / "unikernel" / "hello.hvt").read_bytes()


def test_refused_credentials_are_one_clear_error(tmp_path: Path, gatekeeper: Gatekeeper) -> None:
    context = writable_copy(CASES / "scratch-single", tmp_path / "ctx")
    (context / "Containerfile").write_text(f"FROM {gatekeeper.host}/team/none:1\n")
    result = pun_build(
        ["--context", str(context), "--output", f"type=oci,dest={tmp_path / 'x.tar'}"],
        tmp_path / "cache",
        {"DOCKER_CONFIG": str(tmp_path / "no-config")},
    )
    assert result.code == 1
    assert "the token service refused anonymous access for repository:team/none:pull" in result.err
    assert f"docker login {gatekeeper.host}" in result.err
