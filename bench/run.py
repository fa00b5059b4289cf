"""Benchmark orchestrator: real PostgreSQL, three tools side by side, medians and ratios.

    .venv/bin/python -m bench.run --rows 1000000 --repeat 3

Starts its own PostgreSQL 15 (syncline.devcluster.databases), generates seeded data,
runs every tool as a separate process (wall time and peak RSS from wait4), checks that
all tools produced the same content (hashes), and writes bench/results.json. Numbers
are whatever this machine gives; RESULTS.md quotes them, targets met or not.
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
from syncline.devcluster.databases import PostgresServer

ROOT = Path(__file__).resolve().parents[1]
MAPPED_EXTRA = "full_name text, status_label text, country_name text, segment_code text"


def measure(tool: str, scenario: str, config: dict[str, Any]) -> dict[str, Any]:
    """One run of one tool in its own process: wall seconds, peak RSS (MiB), its output."""
    cmd = [sys.executable, "-m", "bench.tools", tool, scenario, json.dumps(config)]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)  # the child's own rusage, peak RSS included
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{tool} {scenario} failed:\n{err.read()[-3000:]}")
        output = json.loads(out.read().splitlines()[-1])
    return {"wall": wall, "peak_mib": usage.ru_maxrss / 1024, "output": output}


def reset_target(dsn: str, tool: str, table: str, dlt_dir: Path, extra: str = "") -> None:
    if tool == "dlt":
        shutil.rmtree(dlt_dir, ignore_errors=True)
        import psycopg

        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DROP SCHEMA IF EXISTS dlt_bench CASCADE")
            conn.execute("DROP SCHEMA IF EXISTS dlt_bench_staging CASCADE")
        return
    data.create_target(dsn, table)
    if extra:
        import psycopg

        with psycopg.connect(dsn, autocommit=True) as conn:
            for col in extra.split(", "):
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {col}")


def target_of(tool: str, table: str) -> str:
    return f"dlt_bench.{table}" if tool == "dlt" else table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tools", default="syncline,sql,dlt")
    parser.add_argument("--scenarios", default="initial,resync,change,mapping,csv")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    args = parser.parse_args()
    tools, scenarios = args.tools.split(","), args.scenarios.split(",")
    base = Path(tempfile.mkdtemp(prefix="syncline-bench-"))
    os.chmod(base, 0o755)
    results: list[dict[str, Any]] = []
    try:
        with PostgresServer(base / "pg") as server:
            server.create_database("bench", "bench", "bench-pw")
            access = server.access("bench", "bench", "bench-pw")
            config = {
                "host": access.host,
                "port": access.port,
                "database": "bench",
                "user": "bench",
                "password": "bench-pw",
                "source": "src",
                "csv": str(base / "src.csv"),
                "dlt_dir": str(base / "dlt"),
            }
            for rep in range(args.repeat):
                results += one_round(access.dsn, config, tools, scenarios, args.rows, rep, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    args.out.write_text(json.dumps({"rows": args.rows, "runs": results}, indent=1))
    print(summarize(results, args.rows))


def one_round(
    dsn: str,
    config: dict[str, Any],
    tools: list[str],
    scenarios: list[str],
    rows: int,
    rep: int,
    base: Path,
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    data.create_source(dsn, "src", rows)

    def record(tool: str, scenario: str, table: str, **extra: Any) -> None:
        cfg = {**config, "target": table, "dlt_dir": str(base / f"dlt-{table}")}
        xid = data.current_xid(dsn)
        kind = {"initial": "pg", "resync": "pg", "change": "pg"}.get(scenario, scenario)
        m = measure(tool, kind, cfg)
        real = target_of(tool, table)
        m.update(
            tool=tool,
            scenario=scenario,
            rep=rep,
            hash=data.content_hash(dsn, real),
            rewritten=data.rewritten_since(dsn, real, xid),
            **extra,
        )
        print(
            f"rep {rep} {tool:8} {scenario:8} {m['wall']:7.2f}s {m['peak_mib']:6.0f} MiB "
            f"rewritten {m['rewritten']:>8} {m['hash']}",
            file=sys.stderr,
            flush=True,
        )
        out.append(m)

    for tool in tools:
        reset_target(dsn, tool, f"t_{tool}", base / f"dlt-t_{tool}")
        record(tool, "initial", f"t_{tool}")
        if "resync" in scenarios:
            record(tool, "resync", f"t_{tool}")
    if "change" in scenarios:
        data.change_source(dsn, "src", rows)
        for tool in tools:
            record(tool, "change", f"t_{tool}")
        data.create_source(dsn, "src", rows)
    if "mapping" in scenarios and "syncline" in tools:
        reset_target(dsn, "syncline", "t_map", base, MAPPED_EXTRA)
        record("syncline", "mapping", "t_map")
    if "csv" in scenarios:
        data.export_csv(dsn, "src", base / "src.csv")
        for tool in tools:
            reset_target(dsn, tool, f"c_{tool}", base / f"dlt-c_{tool}")
            record(tool, "csv", f"c_{tool}")
        (base / "src.csv").unlink()
    return out


def summarize(runs: list[dict[str, Any]], rows: int) -> str:
    """Markdown: median wall, rows/s, peak memory per tool and scenario, then the ratios."""
    cells: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in runs:
        cells.setdefault((r["tool"], r["scenario"]), []).append(r)
    med = {k: statistics.median(r["wall"] for r in v) for k, v in cells.items()}
    lines = [
        "| tool | scenario | runs | median s | min-max s | rows/s | peak MiB | rewritten "
        "| content hash |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for (tool, scen), v in cells.items():
        walls = [r["wall"] for r in v]
        hashes = sorted({r["hash"] for r in v})
        lines.append(
            f"| {tool} | {scen} | {len(v)} | {med[(tool, scen)]:.2f} | {min(walls):.2f}-"
            f"{max(walls):.2f} | {rows / med[(tool, scen)]:,.0f} | "
            f"{max(r['peak_mib'] for r in v):.0f} | {max(r['rewritten'] for r in v):,} | "
            f"{', '.join(hashes)} |"
        )
    lines.append("")

    def ratio(a: tuple[str, str], b: tuple[str, str]) -> str:
        return f"{med[a] / med[b]:.2f}" if a in med and b in med else "n/a"

    lines += [
        f"- initial load, SQL ceiling time / syncline time: "
        f"{ratio(('sql', 'initial'), ('syncline', 'initial'))} (target ≥ 0.5)",
        f"- initial load, dlt time / syncline time: "
        f"{ratio(('dlt', 'initial'), ('syncline', 'initial'))} (target ≥ 2)",
        f"- syncline initial / re-sync time: "
        f"{ratio(('syncline', 'initial'), ('syncline', 'resync'))} (target ≥ 3)",
        f"- syncline mapping-heavy / plain time: "
        f"{ratio(('syncline', 'mapping'), ('syncline', 'initial'))} (target ≤ 1.25)",
        f"- CSV, SQL ceiling time / syncline time: "
        f"{ratio(('sql', 'csv'), ('syncline', 'csv'))}; dlt / syncline: "
        f"{ratio(('dlt', 'csv'), ('syncline', 'csv'))}",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
