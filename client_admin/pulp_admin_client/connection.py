"""The HTTP wrapper every command talks through: JSON in and out, Pulp error bodies turned into ServerError.

Paths are relative to the API root (``repositories/``); every request carries Basic credentials. Upload
bodies are file-like objects with a length, so requests streams them instead of reading them whole.
"""

from __future__ import annotations

from dataclasses import replace
from typing import IO, Any

import requests
from requests.adapters import HTTPAdapter

from pulp_admin_client.config import ClientConfig
from pulp_admin_client.credentials import BearerAuth
from pulp_admin_client.failures import ClientError, ExitCode, ServerError

# (connect, read): reads cover a whole chunk PUT or a slow server answer.
TIMEOUT = (10.0, 600.0)
# The pieces a file-like body is read and sent in. urllib3's default (16 KiB) makes a 1 GiB upload 65,536
# reads and sends through Python, which cost more CPU than the server's receiving them.
SEND_BLOCK = 1024 * 1024


class _LargeBlocks(HTTPAdapter):
    """requests' adapter with urllib3 connections that send bodies in ``SEND_BLOCK`` pieces."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, blocksize=SEND_BLOCK, **kwargs)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        return super().proxy_manager_for(proxy, blocksize=SEND_BLOCK, **kwargs)


class Connection:
    """One session with the server at ``config.api_url``."""

    def __init__(self, config: ClientConfig, auth: tuple[str, str] | BearerAuth | None) -> None:
        self.config = config
        self.api_url = config.api_url
        self.session = requests.Session()
        for scheme in ("http://", "https://"):
            self.session.mount(scheme, _LargeBlocks())
        self.session.auth = auth
        self.session.verify = config.verify
        self.session.headers["User-Agent"] = "pulp-admin"

    def url(self, path: str) -> str:
        """The absolute URL of an API path, accepting ``/pulp/api/v2/...`` hrefs as the server gives them."""
        if path.startswith("http://") or path.startswith("https://"):
            return path
        if path.startswith("/"):
            return self.config.base_url + path
        return self.api_url + path

    def request(self, method: str, path: str, *, json: Any = None, data: IO[bytes] | bytes | None = None,
                params: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Any:
        """Send one request; return the decoded JSON body (None when empty) or raise ClientError."""
        url = self.url(path)
        try:
            response = self.session.request(method, url, json=json, data=data, params=params,
                                            headers=headers, timeout=TIMEOUT)
        except requests.exceptions.SSLError as exc:
            if self._speaks_plain_http():
                raise ClientError(f"the server at {self.config.base_url} answers plain HTTP, not HTTPS: set "
                                  "`scheme = http` in the [server] section of admin.conf", ExitCode.CONFIG) from exc
            raise ClientError(f"TLS failure talking to {self.config.base_url}: {_reason(exc)}",
                              ExitCode.CONNECTION) from exc
        except requests.exceptions.ConnectionError as exc:
            raise ClientError(f"cannot reach the Pulp server at {self.config.base_url}: {_reason(exc)}",
                              ExitCode.CONNECTION) from exc
        except requests.exceptions.Timeout as exc:
            raise ClientError(f"the Pulp server at {self.config.base_url} did not answer in time",
                              ExitCode.CONNECTION) from exc
        if response.status_code >= 400:
            raise error_from_response(response, self.session.auth)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise ClientError(f"{method} {url}: the server answered HTTP {response.status_code} with a body "
                              "that is not JSON; is this a Pulp server?", ExitCode.SERVER) from exc

    def _speaks_plain_http(self) -> bool:
        """Whether the server, which failed a TLS handshake, answers plain HTTP on the same port.

        Pulp 2's default scheme is https, so an admin.conf without ``scheme`` pointed at ``pulp-server run``
        (plain HTTP on loopback) fails with an OpenSSL record error that says nothing useful.
        """
        if self.config.scheme != "https":
            return False
        plain = replace(self.config, scheme="http")
        try:
            requests.get(f"{plain.base_url}/", timeout=5, allow_redirects=False)
        except requests.exceptions.RequestException:
            return False
        return True

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.request("POST", path, json=json, **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.request("PUT", path, json=json, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, **kw)


def _reason(exc: Exception) -> str:
    """The innermost cause of a requests failure, without urllib3's object reprs."""
    cause: BaseException = exc
    while cause.__cause__ is not None or cause.__context__ is not None:
        cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
    text = str(cause) or type(cause).__name__
    # urllib3 wraps errno texts as "<...HTTPConnection object at 0x..>: Failed to establish...: [Errno 111] ..."
    if "[Errno" in text:
        text = text[text.index("[Errno"):]
    # Strip only the wrappers' unbalanced closing quotes and parentheses, not OpenSSL's "(_ssl.c:1006)".
    while text and text[-1] in ")'\"" and (text[-1] != ")" or text.count(")") > text.count("(")):
        text = text[:-1]
    return text


def error_from_response(response: requests.Response, auth: Any) -> ServerError:
    """One line describing a 4xx/5xx answer, from the Pulp error body when there is one."""
    status = response.status_code
    code = description = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        code = error.get("code")
        description = error.get("description") or body.get("error_message")
    if status == 401:
        if isinstance(auth, BearerAuth):
            return ServerError(f"the stored login of user {auth.stored.login!r} was refused (expired?) (HTTP 401): "
                               "log in again with `pulp-admin login -u USER -p PASSWORD`", ExitCode.NOPERM, status,
                               code)
        user = auth[0] if isinstance(auth, tuple) and auth else None
        who = f"user {user!r}" if user else "no credentials given"
        return ServerError(f"authentication failed ({who}; HTTP 401): log in with `pulp-admin login -u USER -p "
                           "PASSWORD` or pass -u/-p", ExitCode.NOPERM, status, code)
    if status == 403:
        return ServerError(f"permission denied (HTTP 403){': ' + description if description else ''}",
                           ExitCode.NOPERM, status, code)
    text = description or f"{response.request.method} {response.url}: {response.reason or 'error'}"
    prefix = f"{code}: " if code else ""
    exit_code = ExitCode.SERVER if status >= 500 else ExitCode.DATA
    return ServerError(f"{prefix}{text} (HTTP {status})", exit_code, status, code)
