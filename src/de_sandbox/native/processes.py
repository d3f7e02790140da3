"""Processes and loopback ports, shared by the native platform, the S3 stand-in and the tests: start a command
in its own process group, stop exactly that group, pick a free port, check one."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from typing import IO, Any

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """A port the kernel just handed out as free; good enough for tests that bind it right after."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def is_listening(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def check_port_free(host: str, port: int, what: str) -> None:
    """Fail early, naming the service, when something else already listens on its port."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            raise RuntimeError(
                f"{what}: {host}:{port} is already in use ({err}); pick another port in .env"
            ) from err


def start_group(
    argv: list[str],
    output: IO[Any] | int = subprocess.DEVNULL,
    env: dict[str, str] | None = None,
    **popen: Any,
) -> subprocess.Popen:
    """Start `argv` as the leader of a new process group, so stopping it also stops all it forks."""
    return subprocess.Popen(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        **popen,
    )


def signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def stop_group(process: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM the process's group, SIGKILL it if it is still there after `timeout` seconds."""
    if process.poll() is not None:
        return
    signal_group(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        signal_group(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
