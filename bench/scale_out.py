"""Scale-out of one task: N engine processes, each with one key range, against one.

    .venv/bin/python -m bench.scale_out --rows 1000000 --pods 1,2,4 --repeat 3

Starts its own PostgreSQL 15, generates the seeded ``src`` table of ``bench.data`` (an
``id bigint`` primary key), and for each pod count loads an empty target with that many
processes side by side, each running the engine on its share exactly as a pod of the
Indexed Job does (``run_project(partition=...)`` over ``split_points``). The IntegrationRun
bookkeeping of a real run (a handful of API calls per pod) is left out: it does not grow
with the rows. Every load's content hash must equal the source's; the ratios are against
one process in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import data
from bench.run import server_cpu
from syncline.devcluster.databases import PostgresServer

ROOT = Path(__file__).resolve().parents[1]
BATCH = 50_000


def pod(config: dict[str, Any], index: int, pods: int) -> dict[str, Any]:
    """One pod's share: the engine over key range ``index`` of ``pods``."""
    from syncline.api.connection import ConnectionSpec
    from syncline.api.project import Limits
    from syncline.api.task import Task
    from syncline.engine.partitions import KeyRange, split_points
    from syncline.engine.project import ResolvedConnection, ResolvedProject
    from syncline.engine.runner import run_project

    pg = ConnectionSpec.model_validate(
        {
            "type": "postgresql",
            "endpoint": {"host": config["host"], "port": config["port"], "database": "bench"},
            "credentials": {"secretRef": {"name": "bench"}},
            "options": {"batchSize": BATCH},
        }
    )
    creds = {"username": "bench", "password": "bench-pw"}
    scale_out = {"scaleOut": {"pods": pods, "key": "id"}} if pods > 1 else {}
    task = Task.model_validate(
        {
            "name": "bench",
            "source": {"connection": "a", "entity": "src"},
            "destination": {"connection": "b", "entity": "dst", "keys": ["id"]},
            **scale_out,
        }
    )
    project = ResolvedProject(
        namespace="bench",
        name="scale-out",
        tasks=[task],
        connections={
            "a": ResolvedConnection("a", pg, creds),
            "b": ResolvedConnection("b", pg, creds),
        },
        integration_keys=[],
        org_units=None,
        limits=Limits(max_rows_per_run=0),
    )
    share = KeyRange.of("id", split_points(1, config["rows"], pods), index) if pods > 1 else None
    report = run_project(project, partition=share)
    if report.error:
        raise SystemExit(str(report.error))
    return report.totals.to_api()


def load(config: dict[str, Any], pods: int) -> dict[str, Any]:
    """Load the empty target with ``pods`` processes at once: wall time of the slowest,
    and the CPU seconds the pods and the database server spent."""
    data.create_target(config["dsn"], "dst")
    server_before = server_cpu(Path(config["data_dir"]))
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.scale_out", "--pod", str(i), "--pods", str(pods)],
            cwd=ROOT,
            env={**os.environ, "BENCH_CONFIG": json.dumps(config)},
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(pods)
    ]
    outputs, engine_cpu = [], 0.0
    for p in procs:
        out = p.stdout.read() if p.stdout else ""
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        engine_cpu += usage.ru_utime + usage.ru_stime
        outputs.append(json.loads(out.splitlines()[-1]))
    wall = time.perf_counter() - started
    database_cpu = server_cpu(Path(config["data_dir"])) - server_before
    if any(p.returncode for p in procs):
        raise SystemExit(f"a pod of {pods} failed")
    read = sum(o["read"] for o in outputs)
    if read != config["rows"] or data.content_hash(config["dsn"], "dst") != config["hash"]:
        raise SystemExit(f"{pods} pods: read {read}, content differs from the source")
    return {
        "pods": pods,
        "wall": wall,
        "read": read,
        "cpu_engine": engine_cpu,
        "cpu_database": database_cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pods", default="1,2,4")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pod", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results-scale-out.json")
    args = parser.parse_args()
    if args.pod is not None:
        print(json.dumps(pod(json.loads(os.environ["BENCH_CONFIG"]), args.pod, int(args.pods))))
        return
    counts = [int(n) for n in args.pods.split(",")]
    base = Path(tempfile.mkdtemp(prefix="syncline-scale-out-"))
    os.chmod(base, 0o755)
    runs: list[dict[str, Any]] = []
    try:
        with PostgresServer(base / "pg") as server:
            server.create_database("bench", "bench", "bench-pw")
            access = server.access("bench", "bench", "bench-pw")
            data.create_source(access.dsn, "src", args.rows)
            config = {
                "host": access.host,
                "port": access.port,
                "rows": args.rows,
                "dsn": access.dsn,
                "hash": data.content_hash(access.dsn, "src"),
                "data_dir": str(server.data_dir),
            }
            for rep in range(args.repeat):
                for pods in counts:
                    runs.append({**load(config, pods), "rep": rep})
                    print(json.dumps(runs[-1]), flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    medians = {n: statistics.median(r["wall"] for r in runs if r["pods"] == n) for n in counts}
    summary = {
        "rows": args.rows,
        "cores": os.cpu_count(),
        "median_wall": medians,
        "speedup_vs_1": {n: medians[counts[0]] / medians[n] for n in counts},
        "runs": runs,
    }
    args.out.write_text(json.dumps(summary, indent=1))
    for n in counts:
        ratio = medians[counts[0]] / medians[n]
        mine = [r for r in runs if r["pods"] == n]
        engine = statistics.median(r["cpu_engine"] for r in mine)
        database = statistics.median(r["cpu_database"] for r in mine)
        print(
            f"{n} pods: {medians[n]:.2f} s median, {ratio:.2f}x against {counts[0]}; "
            f"CPU engine {engine:.1f} s + database {database:.1f} s"
        )


if __name__ == "__main__":
    main()
