"""The chat path measured from outside (`make bench`): the product against a bare Channels relay
on the same stack, in alternating rounds, reported as ratios.

    DATABASE_URL=postgres://…/confidant_bench REDIS_URL=redis://…/5 CONFIDANT_DEV_ENV=1 \\
        .venv/bin/python bench/chat.py [--quick] [--rounds 3] [--cases a,b,c,d,e,f,purge] [--processes 1,2]

Recreates DATABASE_URL's database and its keys database (their names must contain "bench"),
prepares them as `make serve` does (collectstatic, migrate), then for each process count starts
the product (the Procfile's web line, WEB_CONCURRENCY processes, and its Celery worker) and the
bare relay (bench/relay_app.py, the same uvicorn line) on free ports, and runs each case against
both, alternating which goes first, for --rounds rounds. Writes bench/results/<date>-<case>.json
(raw figures, machine), <date>-<case>.png (latency plots), <date>-summary.md (min/median/max and
product/bare ratios, with the output of bench/encryption.py, rotation.py and retention.py run
small), and the table between the bench markers in README.md. Cases: bench/cases.py; `purge`
(chat latency while the retention purge deletes a million expired messages, against the same load
without it) loads its backlog every round it runs in, about 100 s, so by default only the first.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import cases
import procs
import report
import scratch

ROOT = procs.ROOT
QUICK = cases.Config(
    sockets=4,
    start_rate=10,
    factor=2.0,
    max_rate=80,
    step_seconds=1.5,
    rate=10,
    seconds=2,
    drain=5,
    conversations=4,
    agents=2,
    articles=50,
    idle_sockets=20,
    hold=2,
    purge_messages=50_000,
    purge_rate=20,
    purge_seconds=10,
)
# The existing benches, run small: (script, full arguments, --quick arguments).
MICRO = [
    ("encryption.py", ["--messages", "5000", "--rounds", "3"], ["--messages", "200", "--rounds", "1"]),
    (
        "rotation.py",
        ["--messages", "50000", "--conversations", "1000"],
        ["--messages", "1000", "--conversations", "20"],
    ),
    ("retention.py", ["--expired", "50000", "--kept", "50000"], ["--expired", "500", "--kept", "500", "--per", "10"]),
]


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit.strip(),
    }


def parse_cases(raw: str) -> list[str]:
    wanted = {cases.ALIASES.get(c.strip(), c.strip()) for c in raw.split(",") if c.strip()}
    unknown = wanted - set(cases.CASES) - {m[0].removesuffix(".py") for m in MICRO}
    if unknown:
        raise SystemExit(f"unknown cases {sorted(unknown)}; planned, not yet written: {cases.PLANNED}")
    return [c for c in [*cases.CASES, *(m[0].removesuffix(".py") for m in MICRO)] if c in wanted]


def database_env(base: dict[str, str]) -> dict[str, str]:
    url = base.get("DATABASE_URL", "")
    if not url.startswith("postgres") or not base.get("REDIS_URL"):
        raise SystemExit("make bench needs DATABASE_URL (PostgreSQL) and REDIS_URL, as make serve does")
    name = urlsplit(url).path.strip("/")
    if "bench" not in name:
        raise SystemExit(
            f"the bench recreates its database: DATABASE_URL must name one with 'bench' in it, not {name!r}"
        )
    scratch.recreate(url, name, f"{name}_keys")
    env = dict(base)
    env["KEYS_DATABASE_URL"] = scratch.url_with_db(url, f"{name}_keys")
    return env


@contextlib.contextmanager
def servers(product_env: dict[str, str], bare_env: dict[str, str]) -> Iterator[dict[str, cases.Target]]:
    """The product (web and worker) and the bare relay, started fresh: no round inherits another's
    state (a broken pool, a backlog)."""
    with contextlib.ExitStack() as stack:
        product = stack.enter_context(procs.web(procs.PRODUCT_APP, product_env, name="product"))
        stack.enter_context(procs.worker(product_env))
        bare = stack.enter_context(procs.web(procs.RELAY_APP, bare_env, name="bare"))
        yield {
            "product": cases.Target(
                "product", f"http://127.0.0.1:{product_env['PORT']}", product.pid, procs.log(product_env, "product")
            ),
            "bare": cases.Target("bare", f"http://127.0.0.1:{bare_env['PORT']}", bare.pid, procs.log(bare_env, "bare")),
        }


async def warm_up(targets: dict[str, cases.Target], ctx: cases.Context) -> None:
    """Not recorded: imports, pools and caches of both servers (and the bot's index)."""
    warm = cases.Context(
        config=cases.Config(**{**vars(ctx.config), "seconds": 1.0, "rate": 10.0, "sockets": 2}),
        env=ctx.env,
        questions=ctx.questions,
    )
    for target in targets.values():
        await cases.chat(target, warm)
    if ctx.questions:
        await cases.bot(targets["product"], warm)
    for target in targets.values():
        await cases.settle(target)


async def run_processes(
    processes: int, chosen: list[str], config: cases.Config, rounds: int, env: dict[str, str], *, quick: bool
) -> dict[str, dict[str, list[Any]]]:
    """Every chosen case, `rounds` times against both targets; results[case][target] = [figures…]."""
    product_env = procs.server_env(env, port=procs.free_port(), processes=processes)
    bare_env = procs.server_env(env, port=procs.free_port(), processes=processes)
    results: dict[str, dict[str, list[Any]]] = {c: {"product": [], "bare": []} for c in chosen}
    ctx = cases.Context(config=config, env=product_env, hold=True)
    if "relay" in chosen:
        ctx.agent_sessions = procs.chat_setup(product_env, "agents", str(config.agents))["agents"]
    if "bot" in chosen:
        ctx.questions = procs.chat_setup(product_env, "articles", str(config.articles))["questions"]
    for round_no in range(rounds):
        order = ["product", "bare"] if round_no % 2 == 0 else ["bare", "product"]
        ctx.round, ctx.bare_saturation, ctx.product_saturation = round_no, None, None
        with servers(product_env, bare_env) as targets:
            if not quick:
                await warm_up(targets, ctx)
            for case in chosen:
                for name in sorted(order, key=lambda n: n != "bare") if case == "saturation" else order:
                    target = targets[name]
                    logged = target.log.stat().st_size
                    started = time.perf_counter()
                    figures = await cases.CASES[case](target, ctx)
                    elapsed = time.perf_counter() - started
                    if figures is not None:
                        figures["settled_seconds"] = await cases.settle(target)
                        figures["server_log_problems"] = procs.log_problems(target.log, logged)
                        results[case][name].append(figures)
                    print(
                        f"[{processes} proc, round {round_no + 1}/{rounds}] {case:<10} {name:<7} {elapsed:5.1f} s  "
                        f"{report.headline(case, figures)}  {(figures or {}).get('server_log_problems') or ''}",
                        flush=True,
                    )
    return results


def run_micro(chosen: list[str], quick: bool, env: dict[str, str]) -> dict[str, str]:
    outputs = {}
    for script, full, small in MICRO:
        name = script.removesuffix(".py")
        if name not in chosen:
            continue
        print(f"running bench/{script} {' '.join(small if quick else full)}", flush=True)
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / script), *(small if quick else full)],
            cwd=ROOT,
            env={**env, "CONFIDANT_DEV_ENV": "1"},
            capture_output=True,
            text=True,
            check=False,
        )
        outputs[name] = (
            done.stdout + (f"\nfailed ({done.returncode}): {done.stderr[-2000:]}" if done.returncode else "")
        ).strip()
        print(outputs[name], flush=True)
    return outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny load: seconds, for a smoke test")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cases", default="a,b,c,d,e,f,purge,encryption,rotation,retention")
    parser.add_argument("--processes", default="1", help="web processes, or a list to compare: 1,2")
    parser.add_argument("--rate", type=float, help="msg/s of the fixed-load cases when saturation (a) is not run")
    parser.add_argument("--purge-messages", type=int, help="the purge case's expired backlog (default 1,000,000)")
    parser.add_argument("--purge-rounds", type=int, help="rounds the purge case runs in (default 1: the first)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--no-readme", action="store_true", help="leave README.md's table alone")
    args = parser.parse_args()
    chosen = parse_cases(args.cases)
    config = QUICK if args.quick else cases.Config()
    if args.rate:
        config.rate = args.rate
    if args.purge_messages:
        config.purge_messages = args.purge_messages
    if args.purge_rounds:
        config.purge_rounds = args.purge_rounds
    process_counts = [int(p) for p in args.processes.split(",")]
    started = time.perf_counter()
    host = machine()  # before the run: the commit measured
    env = database_env(dict(os.environ, CONFIDANT_DEV_ENV="1"))
    procs.prepare(procs.server_env(env, port=8000, processes=1))
    runs: dict[int, dict[str, dict[str, list[Any]]]] = {}
    chat_cases = [c for c in chosen if c in cases.CASES]
    if chat_cases:
        for processes in process_counts:
            runs[processes] = asyncio.run(
                run_processes(processes, chat_cases, config, args.rounds, env, quick=args.quick)
            )
    micro = run_micro(chosen, args.quick, env)
    info = {
        "date": dt.date.today().isoformat(),
        "machine": host,
        "config": vars(config),
        "quick": args.quick,
        "rounds": args.rounds,
        "processes": process_counts,
        "server_env": procs.BENCH_LIMITS,
        "seconds": round(time.perf_counter() - started, 1),
    }
    paths = report.write(args.out, info, runs, micro, update_readme=not args.no_readme and not args.quick)
    print(
        f"done in {info['seconds']} s: "
        + ", ".join(str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p) for p in paths)
    )


if __name__ == "__main__":
    main()
