"""Board websocket clients for ``bench_board.py``, in a process of their own.

    python bench/_ws_client.py < commands (JSON lines) > events (JSON lines)

The bench cannot run them itself: Django loads daphne, which sets txaio (under
autobahn) to Twisted, and autobahn's asyncio client needs txaio on asyncio.
This process imports no Django. autobahn is a dependency of daphne, so it is
installed wherever the desk runs; nothing else is needed.

First line in: ``{"boards": [[port, session_key], ...], "timeout": s}``: opens
one ``/ws/board/`` connection per board, with the session cookie and an
allowed Origin, and waits for each ``hello``; answers ``{"event": "ready"}``
(or ``{"event": "error"}`` and exits). Then it writes
``{"event": "lead", "lead": id, "arrivals": [[board, at], ...], "complete": true}``
as soon as every board has a lead's card, where ``at`` is
``CLOCK_MONOTONIC`` (shared by every process on the machine) taken when the
message's bytes reached this event loop, before any parsing. Commands after
that: ``{"cmd": "flush", "lead": id}`` (write what arrived so far, complete or
not) and ``{"cmd": "close"}`` (close every board, report duplicates, other
messages and unexpected closes, exit).
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from collections import Counter, defaultdict
from typing import Any

import txaio

txaio.use_asyncio()

from autobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol  # noqa: E402


def now() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event, separators=(",", ":")) + "\n")
    sys.stdout.flush()


class BoardClient(WebSocketClientProtocol):
    """One signed-in board: stamps bytes on arrival, hands messages to the boards by lead id."""

    rx_at = 0.0

    def data_received(self, data: bytes) -> None:
        self.rx_at = now()
        super().data_received(data)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:  # noqa: N802,N803 - autobahn's names
        self.factory.boards.message(self.factory.index, json.loads(payload), self.rx_at)

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:  # noqa: N802,N803
        self.factory.boards.closed(self.factory.index, code, reason)


class Boards:
    def __init__(self, boards: list[tuple[int, str]]) -> None:
        self.boards = boards
        self.n = len(boards)
        self.protocols: list[Any] = [None] * self.n
        self.hello: list[asyncio.Future] = []
        self.gone: list[asyncio.Future] = []
        self.arrivals: dict[int, dict[int, float]] = defaultdict(dict)
        self.reported: set[int] = set()
        self.duplicates = 0
        self.others: Counter[str] = Counter()
        self.closes: list[list[Any]] = []
        self.closing = False

    def message(self, index: int, message: dict[str, Any], at: float) -> None:
        kind = message.get("type")
        if kind == "hello":
            if not self.hello[index].done():
                self.hello[index].set_result(message.get("seq"))
        elif kind == "card":
            lead = message["lead"]
            seen = self.arrivals[lead]
            if index in seen:
                self.duplicates += 1
                return
            seen[index] = at
            if len(seen) == self.n:
                self.report(lead, complete=True)
        else:
            self.others[str(kind)] += 1

    def report(self, lead: int, *, complete: bool) -> None:
        self.reported.add(lead)
        emit({"event": "lead", "lead": lead, "complete": complete,
              "arrivals": [[i, at] for i, at in self.arrivals.get(lead, {}).items()]})

    def closed(self, index: int, code: Any, reason: Any) -> None:
        if not self.closing:
            self.closes.append([index, code, reason])
        if self.hello and not self.hello[index].done():
            self.hello[index].set_exception(RuntimeError(f"board {index} closed before hello: {code} {reason}"))
        if self.gone and not self.gone[index].done():
            self.gone[index].set_result(None)

    async def connect(self, timeout: float, concurrency: int = 20) -> None:
        loop = asyncio.get_running_loop()
        self.hello = [loop.create_future() for _ in range(self.n)]
        self.gone = [loop.create_future() for _ in range(self.n)]
        gate = asyncio.Semaphore(concurrency)

        async def one(index: int) -> None:
            port, session = self.boards[index]
            factory = WebSocketClientFactory(url=f"ws://127.0.0.1:{port}/ws/board/",
                                             origin=f"http://127.0.0.1:{port}",
                                             headers={"Cookie": f"sessionid={session}"}, loop=loop)
            # Server frames are JSON from the desk: skip the pure-Python UTF-8 check per byte.
            factory.setProtocolOptions(utf8validateIncoming=False, openHandshakeTimeout=timeout)
            factory.protocol = BoardClient
            factory.boards, factory.index = self, index
            async with gate:
                _, self.protocols[index] = await loop.create_connection(factory, "127.0.0.1", port)
                await asyncio.wait_for(asyncio.shield(self.hello[index]), timeout)

        await asyncio.gather(*(one(i) for i in range(self.n)))

    async def close(self, timeout: float = 10.0) -> None:
        self.closing = True
        for proto in self.protocols:
            if proto is not None:
                proto.sendClose(code=1000)
        if self.gone:
            await asyncio.wait(self.gone, timeout=timeout)
        for index, future in enumerate(self.gone):
            if not future.done() and self.protocols[index] is not None:
                self.protocols[index].transport.abort()


async def main() -> None:
    loop = asyncio.get_running_loop()
    commands: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    def read_stdin() -> None:
        for line in sys.stdin:
            if line.strip():
                loop.call_soon_threadsafe(commands.put_nowait, json.loads(line))
        loop.call_soon_threadsafe(commands.put_nowait, None)

    threading.Thread(target=read_stdin, daemon=True).start()
    first = await commands.get()
    if first is None:
        return
    boards = Boards([(int(port), str(session)) for port, session in first["boards"]])
    started = now()
    try:
        await boards.connect(float(first.get("timeout", 30)))
    except Exception as error:  # noqa: BLE001 - reported to the bench, which stops
        emit({"event": "error", "detail": f"{type(error).__name__}: {error}", "closes": boards.closes[:10]})
        await boards.close(timeout=2)
        return
    emit({"event": "ready", "seconds": now() - started})
    while True:
        command = await commands.get()
        if command is None or command.get("cmd") == "close":
            break
        if command.get("cmd") == "flush":
            boards.report(int(command["lead"]), complete=len(boards.arrivals.get(int(command["lead"]), {})) == boards.n)
    await boards.close()
    emit({"event": "closed", "duplicates": boards.duplicates, "others": dict(boards.others),
          "closes": boards.closes[:10]})


if __name__ == "__main__":
    asyncio.run(main())
