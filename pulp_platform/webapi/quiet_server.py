"""uvicorn's server, waking once a second instead of ten times.

``uvicorn.Server.main_loop`` sleeps 0.1 s between ticks to notice ``should_exit`` and, every tenth
tick, to refresh the ``Date`` header: ten wake-ups a second with nothing to do, a tenth of a percent of
a core on an idle server. Here the loop ticks once a second (the ``Date`` header keeps its one-second
resolution) and setting ``should_exit``, from a signal handler or another thread, wakes it at once, so
a stop is no slower. uvicorn has no setting for the tick; overriding ``main_loop`` is the seam it has.
"""

from __future__ import annotations

import asyncio

import uvicorn

TICK = 1.0


class QuietServer(uvicorn.Server):
    _exit = False
    _loop: asyncio.AbstractEventLoop | None = None
    _wake: asyncio.Event | None = None

    @property  # type: ignore[override]
    def should_exit(self) -> bool:
        return self._exit

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._exit = value
        loop, wake = self._loop, self._wake
        if value and loop is not None and wake is not None:
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:
                pass  # the loop has closed: nothing waits any more

    async def main_loop(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        while not await self.on_tick(0):  # counter 0: refresh the Date header on every tick
            try:
                await asyncio.wait_for(self._wake.wait(), TICK)
            except TimeoutError:
                pass
