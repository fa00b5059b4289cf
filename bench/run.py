"""Benchmark orchestrator: real PostgreSQL, the tools side by side, medians and ratios.

    .venv/bin/python -m bench.run --rows 1000000 --repeat 3
    .venv/bin/python -m bench.run --tools syncline,sql,dlt,sling --scenarios initial,resync,change

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


def server_cpu(data_dir: Path) -> float:
    """CPU seconds PostgreSQL's processes used so far: the postmaster's exited (reaped)
    backends plus the live ones. On a machine shared with other work, wall time mostly
    measures the neighbours; CPU time measures what a tool made the machine do."""
    import psutil

    postmaster = psutil.Process(int((data_dir / "postmaster.pid").read_text().split()[0]))
    used = postmaster.cpu_times()
    total: float = used.user + used.system + used.children_user + used.children_system
    for child in postmaster.children():
        try:
            times = child.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def measure(
    tool: str, scenario: str, config: dict[str, Any], data_dir: Path | None = None
) -> dict[str, Any]:
    """One run of one tool in its own process: wall seconds, peak RSS (MiB), CPU seconds
    of the tool (its processes) and of the PostgreSQL server, its output."""
    server_before = server_cpu(data_dir) if data_dir else 0.0
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
    time.sleep(0.3)  # let the tool's backends exit, so their CPU time is counted
    return {
        "wall": wall,
        "peak_mib": usage.ru_maxrss / 1024,
        "cpu_tool": usage.ru_utime + usage.ru_stime,  # includes children it waited for
        "cpu_server": (server_cpu(data_dir) - server_before) if data_dir else 0.0,
        "output": output,
    }


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
    parser.add_argument("--tools", default="syncline,sql,dlt,sling")
    parser.add_argument("--scenarios", default="initial,resync,change,mapping,csv")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    args = parser.parse_args()
    tools, scenarios = args.tools.split(","), args.scenarios.split(",")
    base = Path(tempfile.mkdtemp(prefix="syncline-bench-"))
    os.chmod(base, 0o755)
    results: list[dict[str, Any]] = []
    try:
        with PostgresServer(base / "pg") as server:
            access, config = data.bench_database(server)
            config.update(source="src", csv=str(base / "src.csv"), dlt_dir=str(base / "dlt"))
            for rep in range(args.repeat):
                config["data_dir"] = str(server.data_dir)
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
        m = measure(tool, kind, cfg, Path(config["data_dir"]))
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
            f"cpu {m['cpu_tool']:6.2f}+{m['cpu_server']:6.2f}s "
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


def _cpu(run: dict[str, Any]) -> float:
    return float(run.get("cpu_tool", 0.0) + run.get("cpu_server", 0.0))


def _ratio(runs: list[dict[str, Any]], a: tuple[str, str], b: tuple[str, str], of: str) -> str:
    """Median over the rounds of A's / B's ``of`` (wall or cpu) in the same round, and
    each round's ratio, so the spread shows."""
    value = {
        (r["tool"], r["scenario"], r["rep"]): (r["wall"] if of == "wall" else _cpu(r)) for r in runs
    }
    reps = sorted({r["rep"] for r in runs})
    each = [
        value[(*a, n)] / value[(*b, n)]
        for n in reps
        if (*a, n) in value and (*b, n) in value and value[(*b, n)] > 0
    ]
    if not each:
        return "n/a"
    return f"{statistics.median(each):.2f} (rounds: {' / '.join(f'{x:.2f}' for x in each)})"


def summarize(runs: list[dict[str, Any]], rows: int) -> str:
    """Markdown: median wall, rows/s, peak memory per tool and scenario, then the ratios."""
    cells: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in runs:
        cells.setdefault((r["tool"], r["scenario"]), []).append(r)
    med = {k: statistics.median(r["wall"] for r in v) for k, v in cells.items()}
    lines = [
        "| tool | scenario | runs | median s | min-max s | rows/s | CPU s tool+server "
        "| peak MiB | rewritten | content hash |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for (tool, scen), v in cells.items():
        walls = [r["wall"] for r in v]
        hashes = sorted({r["hash"] for r in v})
        lines.append(
            f"| {tool} | {scen} | {len(v)} | {med[(tool, scen)]:.2f} | {min(walls):.2f}-"
            f"{max(walls):.2f} | {rows / med[(tool, scen)]:,.0f} | "
            f"{statistics.median(_cpu(r) for r in v):.2f} | "
            f"{max(r['peak_mib'] for r in v):.0f} | {max(r['rewritten'] for r in v):,} | "
            f"{', '.join(hashes)} |"
        )
    lines.append("")

    def ratio(a: tuple[str, str], b: tuple[str, str]) -> str:
        """Median over the rounds of A's time / B's time in the same round, and each;
        then the same for CPU seconds (tool + server), which neighbours disturb less."""
        return f"wall {_ratio(runs, a, b, 'wall')}; CPU {_ratio(runs, a, b, 'cpu')}"

    def line(what: str, a: tuple[str, str], b: tuple[str, str], target: str) -> str:
        return f"- {what}: {ratio(a, b)} (target {target})"

    lines += [
        line(
            "initial, SQL ceiling time / syncline time",
            ("sql", "initial"),
            ("syncline", "initial"),
            "≥ 0.8",
        ),
        line(
            "re-sync, SQL ceiling time / syncline time",
            ("sql", "resync"),
            ("syncline", "resync"),
            "≥ 1.0, 0 rewritten",
        ),
        line(
            "change, SQL ceiling time / syncline time",
            ("sql", "change"),
            ("syncline", "change"),
            "≥ 1.0",
        ),
        line(
            "initial, Sling time / syncline time",
            ("sling", "initial"),
            ("syncline", "initial"),
            "≥ 1.2",
        ),
        line(
            "re-sync, Sling time / syncline time",
            ("sling", "resync"),
            ("syncline", "resync"),
            "≥ 2",
        ),
        line(
            "change, Sling time / syncline time", ("sling", "change"), ("syncline", "change"), "≥ 2"
        ),
        *(
            line(f"{s}, dlt time / syncline time", ("dlt", s), ("syncline", s), "≥ 4")
            for s in ("initial", "resync", "change")
        ),
        line(
            "syncline initial / re-sync time", ("syncline", "initial"), ("syncline", "resync"), "—"
        ),
        line(
            "syncline mapping-heavy / plain time",
            ("syncline", "mapping"),
            ("syncline", "initial"),
            "≤ 1.25",
        ),
        line("CSV, SQL ceiling time / syncline time", ("sql", "csv"), ("syncline", "csv"), "—"),
        line("CSV, dlt time / syncline time", ("dlt", "csv"), ("syncline", "csv"), "—"),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
