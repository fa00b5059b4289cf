"""The kubelet's log endpoint, so ``kubectl logs`` and the pods/log API work.

The API server proxies ``pods/log`` to ``https://<node>:<port>/containerLogs/...``
with its kubelet-client certificate; this server answers from the log files the
runners write. Supported query parameters: follow, tailLines, limitBytes. Like the
kubelet it requires a client certificate signed by the cluster CA.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qs, unquote, urlparse

from syncline.devcluster.pki import Pki

log = logging.getLogger("syncline.nodeagent")
FOLLOW_POLL_SECONDS = 0.2


class LogServer:
    """Serves container logs from logs_dir/<namespace>/<pod>/<container>.log over mutual TLS."""

    def __init__(self, logs_dir: Path, pki: Pki, is_running: Callable[[str, str], bool]) -> None:
        self.logs_dir = logs_dir
        self.is_running = is_running
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(pki.node_agent_serving.cert), str(pki.node_agent_serving.key))
        context.load_verify_locations(str(pki.ca.cert))
        context.verify_mode = ssl.CERT_REQUIRED
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = int(self.httpd.server_address[1])

    def start(self) -> None:
        """Serve in a daemon thread."""
        threading.Thread(target=self.httpd.serve_forever, name="log-server", daemon=True).start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.httpd.shutdown()
        self.httpd.server_close()

    def log_file(self, path: str) -> tuple[str, str, Path] | None:
        """(namespace, pod, file) for /containerLogs/<ns>/<pod>/<container>, else None."""
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if (
            len(parts) != 4
            or parts[0] != "containerLogs"
            or any(p in ("", ".", "..") for p in parts)
        ):
            return None
        _, namespace, pod, container = parts
        return namespace, pod, self.logs_dir / namespace / pod / f"{container}.log"


def _tail(data: bytes, lines: int) -> bytes:
    if lines <= 0:
        return b""
    return b"".join(data.splitlines(keepends=True)[-lines:])


def _handler(server: LogServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            target = server.log_file(url.path)
            if target is None or not target[2].is_file():
                self.send_error(404, "no such container log")
                return
            namespace, pod, path = target
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            with path.open("rb") as stream:
                data = stream.read()
                if "tailLines" in query:
                    data = _tail(data, int(query["tailLines"]))
                if "limitBytes" in query:
                    data = data[: int(query["limitBytes"])]
                self.wfile.write(data)
                if query.get("follow") == "true":
                    self._follow(stream, namespace, pod)

        def _follow(self, stream: BinaryIO, namespace: str, pod: str) -> None:
            """Stream what the container writes until its pod stops running."""
            while True:
                running = server.is_running(namespace, pod)
                chunk = stream.read()
                if chunk:
                    self.wfile.write(chunk)
                    self.wfile.flush()
                elif not running:
                    return
                time.sleep(FOLLOW_POLL_SECONDS)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("log server: " + format, *args)

    return Handler
