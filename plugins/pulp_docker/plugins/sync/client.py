"""A registry's pull API as a sync reads it, with httpx (in place of Pulp 2's nectar).

- **Auth**: a 401 with ``WWW-Authenticate: Bearer realm=…,service=…,scope=…`` sends us to the realm for
  a token (anonymously, or with Basic credentials when the config has them), which is then used until
  it is refused again (expired: fetched anew, once per request). A ``Basic`` challenge gets the
  credentials directly.
- **Manifests** are asked for with every type this server stores (schema 2, OCI, lists and indexes,
  schema 1 last) and kept exactly as served.
- **Tags** follow ``Link: <…>; rel="next"`` pagination.
- **Blobs** stream to a staging file and are hashed as they arrive. 5xx, 429 and connection errors are
  retried with backoff; a download cut short resumes with ``Range`` where the server allows it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import ssl
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urljoin

import httpx

from pulp_docker.common import media_types as mt
from pulp_docker.plugins.sync.config import SyncConfig
from pulp_platform.storage import StagedFile

log = logging.getLogger(__name__)
ACCEPT = ", ".join([mt.OCI_INDEX, mt.DOCKER_MANIFEST_LIST, mt.OCI_MANIFEST, mt.DOCKER_MANIFEST_V2,
                    mt.DOCKER_MANIFEST_V1_SIGNED, mt.DOCKER_MANIFEST_V1])
RETRIES = 5
BACKOFF = 0.5  # seconds, doubled each retry
CHUNK = 1024 * 1024
MAX_MANIFEST = 4 * 1024 * 1024
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
_RETRY_STATUS = {429, 500, 502, 503, 504}


class RegistryFailure(Exception):
    """The upstream could not give what was asked: a message naming what and why."""


def _tls(config: SyncConfig, workdir: Path) -> ssl.SSLContext | bool:
    if not config.ssl_validation:
        return False
    context = ssl.create_default_context(cadata=config.ssl_ca_cert) if config.ssl_ca_cert \
        else ssl.create_default_context()
    if config.ssl_client_cert and config.ssl_client_key:
        # ssl loads a client pair only from files: written 0600 to a private dir removed after the sync.
        cert, key = workdir / "client.crt", workdir / "client.key"
        for path, text in ((cert, config.ssl_client_cert), (key, config.ssl_client_key)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
        context.load_cert_chain(cert, key)
    return context


class RegistryClient:
    """One upstream repository (``feed`` + ``upstream_name``); thread-safe, for parallel blob downloads."""

    def __init__(self, config: SyncConfig) -> None:
        self.config = config
        self.base = f"{config.feed}/v2/{config.upstream_name}"
        self._workdir = tempfile.TemporaryDirectory(prefix="pulp-sync-")
        try:
            verify = _tls(config, Path(self._workdir.name))
        except (ssl.SSLError, ValueError, OSError) as exc:
            self._workdir.cleanup()
            raise RegistryFailure(f"the TLS settings (ssl_ca_cert, ssl_client_cert/key) are not usable: {exc}") \
                from None
        self.http = httpx.Client(verify=verify, proxy=config.proxy_url, follow_redirects=True,
                                 timeout=httpx.Timeout(60.0, connect=15.0),
                                 limits=httpx.Limits(max_connections=config.max_downloads + 2))
        self._token: str | None = None
        self._basic = (config.basic_auth_username, config.basic_auth_password or "") \
            if config.basic_auth_username else None

    def close(self) -> None:
        self.http.close()
        self._workdir.cleanup()

    # -- requests ------------------------------------------------------------------------------
    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def _authenticate(self, response: httpx.Response) -> bool:
        """Follow a 401's challenge; True when a retry may now succeed."""
        challenge = response.headers.get("www-authenticate", "")
        scheme = challenge.split(" ", 1)[0].lower()
        if scheme == "basic":
            if self._basic is None or self.http.auth is not None:
                return False
            self.http.auth = httpx.BasicAuth(*self._basic)
            return True
        if scheme != "bearer":
            return False
        params = dict(_CHALLENGE.findall(challenge))
        realm = params.pop("realm", None)
        if not realm:
            return False
        params.pop("error", None)
        params.setdefault("scope", f"repository:{self.config.upstream_name}:pull")
        auth = httpx.BasicAuth(*self._basic) if self._basic else None
        reply = self.http.get(realm, params=params, auth=auth, headers={})
        if reply.status_code != 200:
            raise RegistryFailure(f"the token endpoint {realm} refused: HTTP {reply.status_code} "
                                  f"({'wrong credentials' if reply.status_code == 401 else reply.text[:200]})")
        body = reply.json()
        self._token = body.get("token") or body.get("access_token")
        return bool(self._token)

    def request(self, method: str, url: str, *, headers: dict[str, str] | None = None,
                stream: bool = False) -> httpx.Response:
        """One request with auth and retries; the caller closes a streamed response."""
        delay, authenticated = BACKOFF, False
        for attempt in range(RETRIES + 1):
            try:
                request = self.http.build_request(method, url, headers=self._headers(headers))
                response = self.http.send(request, stream=stream)
            except (httpx.TransportError, httpx.DecodingError) as exc:
                if attempt == RETRIES:
                    raise RegistryFailure(f"{method} {url}: {type(exc).__name__}: {exc}") from None
                time.sleep(delay)
                delay *= 2
                continue
            if response.status_code == 401 and not authenticated:
                response.close()
                authenticated = True
                self._token = None
                if self._authenticate(response):
                    continue
                raise RegistryFailure(f"{method} {url}: HTTP 401, and the registry's challenge cannot be met "
                                      "(credentials missing or wrong)")
            if response.status_code in _RETRY_STATUS and attempt < RETRIES:
                response.close()
                time.sleep(float(response.headers.get("retry-after", delay)) if response.status_code == 429
                           else delay)
                delay *= 2
                continue
            return response
        raise RegistryFailure(f"{method} {url}: gave up after {RETRIES} retries")

    def _get_ok(self, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        response = self.request("GET", url, headers=headers)
        if response.status_code != 200:
            raise RegistryFailure(f"GET {url}: HTTP {response.status_code} {response.text[:300]}")
        return response

    # -- what a sync reads ---------------------------------------------------------------------
    def tags(self) -> list[str]:
        """Every tag of the upstream repository, following pagination."""
        url, found = f"{self.base}/tags/list", []
        while url:
            response = self._get_ok(url)
            found += response.json().get("tags") or []
            match = _NEXT.search(response.headers.get("link", ""))
            url = urljoin(url, match.group(1)) if match else ""
        return list(dict.fromkeys(found))

    def manifest(self, reference: str) -> tuple[bytes, str | None]:
        """A manifest's exact bytes and the media type it was served as."""
        response = self._get_ok(f"{self.base}/manifests/{reference}", {"Accept": ACCEPT})
        if len(response.content) > MAX_MANIFEST:
            raise RegistryFailure(f"manifest {reference} is larger than {MAX_MANIFEST} bytes")
        media_type = response.headers.get("content-type", "").split(";", 1)[0].strip() or None
        return response.content, media_type if media_type in mt.ALL_MANIFESTS else None

    def download(self, digest: str, directory: Path, check: Callable[[], None] | None = None) -> StagedFile:
        """Stream blob ``digest`` into a new file in ``directory``, hashing as it arrives, resuming when cut."""
        path = directory / f"sync-{uuid.uuid4().hex}"
        sha, size, delay = hashlib.sha256(), 0, BACKOFF
        url = f"{self.base}/blobs/{digest}"
        try:
            with open(path, "wb") as out:
                for attempt in range(RETRIES + 1):
                    headers = {"Range": f"bytes={size}-"} if size else {}
                    response = self.request("GET", url, headers=headers, stream=True)
                    try:
                        if size and response.status_code == 200:
                            out.seek(0)
                            out.truncate()
                            sha, size = hashlib.sha256(), 0  # the server ignored Range: start again
                        elif response.status_code not in (200, 206):
                            raise RegistryFailure(f"GET {url}: HTTP {response.status_code}")
                        for chunk in response.iter_bytes(CHUNK):
                            out.write(chunk)
                            sha.update(chunk)
                            size += len(chunk)
                            if check is not None:
                                check()
                        break
                    except (httpx.TransportError, httpx.DecodingError) as exc:
                        if attempt == RETRIES:
                            raise RegistryFailure(f"GET {url}: cut off after {size} bytes ({exc})") from None
                        log.info("blob %s cut off after %d bytes (%s); resuming", digest, size, exc)
                        time.sleep(delay)
                        delay *= 2
                    finally:
                        response.close()
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return StagedFile(path, f"sha256:{sha.hexdigest()}", size)
