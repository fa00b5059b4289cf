"""``python -m syncline.devcluster.nodeagent --kubeconfig K --state-dir D``.

Runs until SIGTERM or SIGINT, then stops every pod process it started.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path
from types import FrameType

from kubernetes import config

from syncline.devcluster.nodeagent.agent import DEFAULT_NODE_NAME, NodeAgent
from syncline.devcluster.pki import load_pki


def main() -> None:
    """Parse arguments, start the agent loop in a daemon thread, and wait for a signal."""
    parser = argparse.ArgumentParser(prog="syncline-node-agent")
    parser.add_argument("--kubeconfig", required=True, type=Path)
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--node-name", default=DEFAULT_NODE_NAME)
    parser.add_argument("--pki-dir", type=Path, help="serve container logs with these certs")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    api = config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=str(args.kubeconfig)
    )
    api.configuration.connection_pool_maxsize = 32
    pki = load_pki(args.pki_dir) if args.pki_dir else None
    agent = NodeAgent(api, args.state_dir, args.node_name, pki)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("syncline.nodeagent").info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    loop = threading.Thread(target=agent.run, name="node-agent", daemon=True)
    loop.start()
    while not stop.wait(0.5):
        if not loop.is_alive():
            raise SystemExit("node agent loop ended unexpectedly")
    agent.stop()


if __name__ == "__main__":
    main()
