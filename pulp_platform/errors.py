"""The platform's exceptions and its error-code catalogue.

Exception tree::

    PulpException                    http_status 500, code PLP0000
    ├── MissingResource              404, PLP0009   (unknown repository, upload, task…)
    ├── DuplicateResource            409, PLP0018
    ├── MissingValue                 400, PLP0016   (a required body field is absent)
    ├── InvalidValue                 400, PLP0015   (a field has a bad value)
    ├── NotAuthorized                401, PLP0025
    └── PulpCodedException           400 unless given; any ErrorCode, e.g. a plugin's DKR10xx

Plugins raise their own coded errors by duck type: any exception with ``code``, ``description``
and ``data`` attributes is rendered the same way (``pulp_docker.common.error_codes`` does so
without importing the platform). ``error_body`` is the one place that turns them into Pulp's shape.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class ErrorCode(NamedTuple):
    code: str
    message: str
    required_fields: tuple[str, ...] = ()


PLP0000 = ErrorCode("PLP0000", "{message}", ("message",))
PLP0009 = ErrorCode("PLP0009", "Missing resource(s): {resources}", ("resources",))
PLP0015 = ErrorCode("PLP0015", "Invalid properties: {properties}", ("properties",))
PLP0016 = ErrorCode("PLP0016", "Missing values for {fields}", ("fields",))
PLP0018 = ErrorCode("PLP0018", "Duplicate resource: {resource_id}", ("resource_id",))
PLP0025 = ErrorCode("PLP0025", "Authentication failed.", ())
PLP0023 = ErrorCode("PLP0023", "Task is already in a complete state: {task_id}", ("task_id",))
PLP0049 = ErrorCode("PLP0049", "Worker {worker_name} died while running the task", ("worker_name",))
# Found at start-up: the task was running when the whole server (or its worker) stopped; its writes were undone.
PLP0052 = ErrorCode("PLP0052", "The server stopped while the task ran on worker {worker_name}; what it had "
                    "written was undone", ("worker_name",))
# Fencing: a task declared failed (or whose reservation was released) may not commit any more.
PLP0053 = ErrorCode("PLP0053", "The task no longer holds its reservation ({reason}); its writes were refused "
                    "and undone", ("reason",))


class PulpException(Exception):
    http_status = 500
    error_code: ErrorCode = PLP0000

    def __init__(self, *args: Any, **data: Any) -> None:
        super().__init__(*args)
        self.data = data

    @property
    def code(self) -> str:
        return self.error_code.code

    @property
    def description(self) -> str:
        try:
            return self.error_code.message.format(**self.data)
        except (KeyError, IndexError):
            return str(self) or self.error_code.message


class PulpCodedException(PulpException):
    """An error described by an ErrorCode; its data must fill the code's message."""

    def __init__(self, error_code: ErrorCode, http_status: int = 400, **data: Any) -> None:
        missing = [f for f in error_code.required_fields if f not in data]
        if missing:
            raise ValueError(f"{error_code.code} needs {missing}")
        super().__init__(**data)
        self.error_code = error_code
        self.http_status = http_status

    def __str__(self) -> str:
        return f"{self.code}: {self.description}"


class MissingResource(PulpException):
    http_status = 404
    error_code = PLP0009

    def __init__(self, **resources: Any) -> None:
        text = ", ".join(f"{k}={v}" for k, v in resources.items())
        super().__init__(text, resources=text)
        self.data = {"resources": resources}
        self._text = text

    @property
    def description(self) -> str:
        return f"Missing resource(s): {self._text}"


class DuplicateResource(PulpException):
    http_status = 409
    error_code = PLP0018

    def __init__(self, resource_id: str) -> None:
        super().__init__(resource_id, resource_id=resource_id)


class MissingValue(PulpException):
    http_status = 400
    error_code = PLP0016

    def __init__(self, *names: str) -> None:
        super().__init__(", ".join(names), fields=", ".join(names))
        self.data = {"property_names": list(names)}
        self._names = names

    @property
    def description(self) -> str:
        return f"Missing values for {', '.join(self._names)}"


class InvalidValue(PulpException):
    http_status = 400
    error_code = PLP0015

    def __init__(self, *names: str, reason: str = "") -> None:
        super().__init__(", ".join(names))
        self.data = {"property_names": list(names)}
        self._names = names
        self.reason = reason

    @property
    def description(self) -> str:
        text = f"Invalid properties: {list(self._names)}"
        return f"{text}: {self.reason}" if self.reason else text


class NotAuthorized(PulpException):
    http_status = 401
    error_code = PLP0025

    def __init__(self) -> None:
        super().__init__("Authentication failed.")


def error_dict(exc: BaseException) -> dict[str, Any]:
    """Pulp's ``error`` object for any exception: coded ones keep their code, others are PLP0000."""
    code = getattr(exc, "code", None)
    description = getattr(exc, "description", None)
    if isinstance(code, str) and isinstance(description, str):
        data = getattr(exc, "data", {}) or {}
        sub = [error_dict(e) for e in getattr(exc, "sub_errors", []) or []]
        return {"code": code, "description": description, "data": data, "sub_errors": sub}
    return {"code": PLP0000.code, "description": str(exc) or type(exc).__name__, "data": {}, "sub_errors": []}


def error_body(exc: BaseException, *, href: str, method: str, http_status: int) -> dict[str, Any]:
    """The JSON body of every 4xx/5xx answer, in Pulp 2's shape."""
    err = error_dict(exc)
    return {
        "http_status": http_status,
        "error_message": err["description"],
        "exception": [f"{type(exc).__name__}: {err['description']}"],
        "traceback": None,
        "_href": href,
        "http_request_method": method,
        "error": err,
    }
