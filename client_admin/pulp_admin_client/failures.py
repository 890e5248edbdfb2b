"""How the client fails: one exception carrying one line for stderr and an exit code.

Exit codes follow Pulp 2's pulp-admin (the BSD ``sysexits`` values) so scripts written for it keep
their meaning; 1 is a task that ended in error or was canceled, 130 an interrupt (Ctrl-C).
"""

from __future__ import annotations

import os
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    TASK_FAILED = 1
    USAGE = 2
    DATA = os.EX_DATAERR  # 65: the server refused the request (400, 404, 409)
    SERVER = os.EX_SOFTWARE  # 70: the server failed (5xx, unexpected answer)
    CONNECTION = os.EX_IOERR  # 74: server unreachable, connection dropped
    NOPERM = os.EX_NOPERM  # 77: authentication refused
    CONFIG = os.EX_CONFIG  # 78: bad admin.conf
    INTERRUPTED = 130


class ClientError(Exception):
    """A failure to report as ``error: <message>`` on stderr, exiting with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = ExitCode.TASK_FAILED) -> None:
        super().__init__(message)
        self.message = " ".join(message.split())  # always one line
        self.exit_code = int(exit_code)

    def __str__(self) -> str:
        return self.message


class ServerError(ClientError):
    """The server answered with an error; keeps its HTTP status and Pulp error code when it gave one."""

    def __init__(self, message: str, exit_code: int, http_status: int, code: str | None = None) -> None:
        super().__init__(message, exit_code)
        self.http_status = http_status
        self.code = code
