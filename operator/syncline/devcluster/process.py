"""Start and stop long-running local processes, each in its own process group.

Every component runs in a new session so that stopping it (SIGTERM, then SIGKILL
after a grace period) reaches everything it spawned, and so that a terminal's
Ctrl-C in the shell that ran ``syncline dev up`` does not kill the cluster.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path


def free_ports(count: int) -> list[int]:
    """Distinct TCP ports on 127.0.0.1 that were free a moment ago (the OS picked them).

    All are held open together while choosing, so the OS cannot hand out one twice.
    """
    with contextlib.ExitStack() as stack:
        sockets = [
            stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            for _ in range(count)
        ]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def spawn(
    argv: Sequence[str],
    log_path: Path,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start argv in a new session with stdout and stderr appended to log_path."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )


def is_alive(pid: int) -> bool:
    """Whether a process with this pid exists (zombies of our own children count as gone)."""
    with contextlib.suppress(ChildProcessError):
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_group(
    pgid: int, grace_seconds: float = 10.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    """SIGTERM the whole process group, then SIGKILL whatever outlives the grace period.

    Pass the Popen when the caller owns the group leader, so that its exit status is
    kept for the caller (reaping it here would lose the exit code).
    """

    def gone() -> bool:
        if process is not None:
            process.poll()
        else:
            is_alive(pgid)  # reaps a child of ours so the group can disappear
        return not _group_alive(pgid)

    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        if gone():
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    for _ in range(100):
        if gone():
            return
        time.sleep(0.05)


def wait_until(
    check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1
) -> float:
    """Poll check() until it is true; return the seconds it took, raise TimeoutError if never."""
    started = time.monotonic()
    while True:
        if check():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what} not ready after {timeout:.0f}s")
        time.sleep(interval)
