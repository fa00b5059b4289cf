"""The processes a dev environment started, recorded in ``<state>/state.json``.

The record is what lets ``syncline dev down`` (a different process from the one
that ran ``dev up``) stop everything, and lets a half-started environment be torn
down after a failure. Components stop in reverse start order.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from syncline.devcluster.process import is_alive, spawn, stop_group

if TYPE_CHECKING:
    from syncline.devcluster.netns import NetworkNamespace

STATE_FILE = "state.json"


class Supervisor:
    """Starts components in process groups of their own and remembers them on disk."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.path = state_dir / STATE_FILE

    def read(self) -> dict[str, Any]:
        """The recorded state: {"components": [...], "info": {...}}."""
        if not self.path.is_file():
            return {"components": [], "info": {}}
        data: dict[str, Any] = json.loads(self.path.read_text())
        return data

    def _write(self, state: dict[str, Any]) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.replace(self.path)

    def launch(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        netns: NetworkNamespace | None = None,
        program: str | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start a component, logging to ``<state>/logs/<name>.log``, and record its pid.

        With ``netns`` it runs inside the cluster's network namespace. ``program`` is
        what its command line holds once running (default argv[0]), by which a later
        ``stop_all`` tells it from an unrelated process that reused the pid.
        """
        log = self.state_dir / "logs" / f"{name}.log"
        prefix = netns.prefix() if netns is not None else []
        process = spawn([*prefix, *argv], log, env=env, cwd=cwd)
        state = self.read()
        state["components"].append(
            {"name": name, "pid": process.pid, "log": str(log), "program": program or argv[0]}
        )
        self._write(state)
        return process

    def set_info(self, **info: Any) -> None:
        """Record facts a later command needs (kubeconfig path, server URL, database DSNs)."""
        state = self.read()
        state["info"].update(info)
        self._write(state)

    def ensure_running(self, name: str) -> None:
        """Raise, with the tail of its log, if the component ``name`` has exited: a start-up
        wait should fail at once with the reason, not time out."""
        if self.status().get(name, False):
            return
        log = self.state_dir / "logs" / f"{name}.log"
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        tail = "\n".join(lines[-15:])
        raise RuntimeError(f"{name} exited during start-up; log {log} ends:\n{tail}")

    def kill(self, name: str) -> None:
        """SIGKILL the running component ``name`` and its process group (fault injection:
        no graceful shutdown, every connection it held breaks at once)."""
        for component in reversed(self.read()["components"]):
            if component["name"] == name and _runs(component["pid"], component["program"]):
                stop_group(component["pid"], grace_seconds=0)
                return
        raise RuntimeError(f"{name} is not running")

    def status(self) -> dict[str, bool]:
        """Each recorded component's name and whether its process is alive."""
        return {c["name"]: is_alive(c["pid"]) for c in self.read()["components"]}

    def stop_all(self, grace_seconds: float = 10.0) -> list[str]:
        """Stop every recorded component, newest first; return the names stopped."""
        state = self.read()
        stopped = []
        for component in reversed(state["components"]):
            if _runs(component["pid"], component.get("program", "")):
                stop_group(component["pid"], grace_seconds)
                stopped.append(component["name"])
        state["components"] = []
        if self.path.parent.is_dir():
            self._write(state)
        return stopped


def _runs(pid: int, program: str) -> bool:
    """Whether pid is still the process we started (pids are reused after it exits)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return program.encode() in cmdline
