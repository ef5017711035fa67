"""The chat benchmark's cases: each measures one target (the product or the bare relay) once and
returns its figures. bench/chat.py runs them in alternating rounds and reports the ratios.

A case is a function (target, context) → figures, or None when it does not apply to the target
(the bare relay has no bot). Register a new one in CASES; PLANNED lists the ones to come.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import procs
import purging
from loadgen import Socket, close_all, load, open_all, visitor_cookies


@dataclass
class Target:
    name: str  # "product" or "bare"
    base: str  # http://127.0.0.1:<port>
    pid: int  # uvicorn's (its workers are its children)
    log: Path  # its output

    @property
    def ws(self) -> str:
        return self.base.replace("http://", "ws://")


@dataclass
class Config:
    sockets: int = 50  # customer sockets of the chat loads
    start_rate: float = 10.0  # msg/s: saturation's first step
    factor: float = 1.5  # saturation's steps: rate × factor
    max_rate: float = 5000.0
    step_seconds: float = 3.0
    rate: float = 100.0  # msg/s of the fixed-load cases when no saturation was measured
    seconds: float = 10.0  # length of the fixed-load cases
    drain: float = 10.0
    conversations: int = 50  # claimed conversations of the relay case
    agents: int = 5
    articles: int = 2000
    bot_max_rate: float = 20.0  # the bot case's load: half the bare relay's rate, at most this
    idle_sockets: int = 1000
    hold: float = 30.0
    p99_limit_ms: float = 100.0
    purge_messages: int = 1_000_000  # the expired backlog of the purge case, loaded every round
    purge_rate: float = 20.0  # the purge case's chat load, msg/s (see `purge`)
    purge_seconds: float = 120.0  # its load during the purge stops when the purge does, or after this
    purge_rounds: int = 1  # the purge case runs in the first rounds only (see `purge`)


@dataclass
class Context:
    config: Config
    env: dict[str, str]  # the product's environment, for bench/chat_setup.py
    agent_sessions: dict[str, str] = field(default_factory=dict)
    questions: list[str] = field(default_factory=list)
    bare_saturation: float | None = None  # this round's, for the cases at half of it
    product_saturation: float | None = None  # this round's, recorded beside the purge case's load
    hold: bool = True
    round: int = 0  # from 0: the purge case alternates its order with it

    @property
    def half_rate(self) -> float:
        return self.bare_saturation / 2 if self.bare_saturation else self.config.rate


async def customers(target: Target, count: int, *, handoff: bool) -> tuple[list[Socket], list[str]]:
    """`count` widget sockets, one session (product) or conversation (bare) each. With `handoff`,
    the product's conversations go to the waiting queue first, so that the bot stays out of it."""
    if target.name == "product":
        keys = await visitor_cookies(target.base, count)
        headers = [{"Origin": target.base, "Cookie": f"sessionid={key}"} for key in keys]
        socks = [Socket(i, f"{target.ws}/ws/chat/", h) for i, h in enumerate(headers)]
    else:
        keys = [str(uuid.uuid4()) for _ in range(count)]
        socks = [
            Socket(i, f"{target.ws}/ws/chat/?conversation={k}", {"Origin": target.base}) for i, k in enumerate(keys)
        ]
    await open_all(socks)
    if handoff and target.name == "product":
        await asyncio.gather(*(s.send({"type": "handoff"}) for s in socks))
        for sock in socks:
            while await asyncio.wait_for(sock.states.get(), 30) != "waiting":
                pass
    return socks, keys


def _chat_body(i: int) -> str:
    return f"Hello, this is message {i} about my card payment, which did not go through."


def _passed(figures: dict[str, Any], limit: float) -> bool:
    worst = max(figures["ack"]["p99"] or 1e9, figures["echo"]["p99"] or 1e9)
    return figures["lost"] == 0 and figures["duplicates"] == 0 and worst < limit


def _brief(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in figures.items() if not k.endswith("_samples")}


async def settle(target: Target, *, below: float = 10.0, timeout: float = 90.0) -> float:
    """Wait until the target's processes are idle (CPU under `below` % over half a second), so that
    the backlog of one case never loads the next; the seconds waited."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    pids = procs.tree(target.pid)
    while loop.time() - start < timeout:
        cpu = procs.cpu_seconds(pids)
        await asyncio.sleep(0.5)
        if (procs.cpu_seconds(pids) - cpu) / 0.5 * 100 < below:
            break
    return loop.time() - start


async def saturation(target: Target, ctx: Context) -> dict[str, Any]:
    """(a) Step the rate up by `factor` until ack or echo p99 reaches the limit or a frame is
    lost, twice in a row at the same rate; the highest rate that passed."""
    cfg = ctx.config
    socks, _ = await customers(target, cfg.sockets, handoff=True)
    steps, best, rate = [], 0.0, cfg.start_rate
    try:
        while rate <= cfg.max_rate:
            figures = await load(socks, rate=rate, seconds=cfg.step_seconds, body=_chat_body, drain=2.0, samples=0)
            figures["passed"] = _passed(figures, cfg.p99_limit_ms)
            steps.append(_brief(figures))
            if not figures["passed"]:
                if len(steps) > 1 and steps[-2]["rate"] == rate:
                    break  # failed twice: saturated
                await asyncio.sleep(1.0)
                continue  # a step of a few dozen messages fails on one stall: try it once more
            best, rate = rate, round(rate * cfg.factor, 1)
            await asyncio.sleep(0.5)
    finally:
        await close_all(socks)
    if target.name == "bare":
        ctx.bare_saturation = best
    else:
        ctx.product_saturation = best
    return {"saturation_rate": best, "steps": steps}


async def chat(target: Target, ctx: Context) -> dict[str, Any]:
    """(b) Ack and own-echo latency at half the bare relay's saturation rate."""
    cfg = ctx.config
    socks, _ = await customers(target, cfg.sockets, handoff=True)
    try:
        return await load(socks, rate=ctx.half_rate, seconds=cfg.seconds, body=_chat_body, drain=cfg.drain)
    finally:
        await close_all(socks)


async def relay(target: Target, ctx: Context) -> dict[str, Any]:
    """(c) Customer → agent: each of `conversations` customers asks for a person, an agent claims
    the conversation and watches it on their socket."""
    cfg = ctx.config
    socks, keys = await customers(target, cfg.conversations, handoff=True)
    agents: list[Socket] = []
    try:
        if target.name == "product":
            names = list(ctx.agent_sessions)
            ids = procs.chat_setup(ctx.env, "claim", stdin={"agents": names, "sessions": keys})["conversations"]
            cookies = [ctx.agent_sessions[names[i % len(names)]] for i in range(len(ids))]
        else:
            ids, cookies = keys, ["-"] * len(keys)
        agents = [
            Socket(
                i,
                f"{target.ws}/ws/agent/conversations/{cid}/",
                {"Origin": target.base, "Cookie": f"sessionid={c}"},
                agent=True,
            )
            for i, (cid, c) in enumerate(zip(ids, cookies, strict=True))
        ]
        await open_all(agents)
        await asyncio.sleep(0.5)  # the claim's status frames, before the load
        return await load(
            socks, rate=ctx.half_rate, seconds=cfg.seconds, body=_chat_body, agents=agents, drain=cfg.drain
        )
    finally:
        await close_all(socks + agents)


async def bot(target: Target, ctx: Context) -> dict[str, Any] | None:
    """(d) Customer message in a bot conversation → the bot's answer, over the generated
    knowledge base, at the same load. The product only."""
    if target.name != "product":
        return None
    cfg = ctx.config
    socks, _ = await customers(target, cfg.sockets, handoff=False)
    questions = ctx.questions or ["How do I reset my card pin?"]
    try:
        return await load(
            socks,
            rate=min(ctx.half_rate, cfg.bot_max_rate),
            seconds=cfg.seconds,
            body=lambda i: questions[i % len(questions)],
            bot=True,
            drain=cfg.drain,
        )
    finally:
        await close_all(socks)


async def sockets(target: Target, ctx: Context) -> dict[str, Any]:
    """(e) Time to open `idle_sockets` sockets (each with its own session, got beforehand), and
    (f) those sockets held idle for `hold` seconds: the server's CPU and memory per socket."""
    cfg = ctx.config
    n = cfg.idle_sockets
    if target.name == "product":
        keys = await visitor_cookies(target.base, n)
        socks = [
            Socket(i, f"{target.ws}/ws/chat/", {"Origin": target.base, "Cookie": f"sessionid={k}"})
            for i, k in enumerate(keys)
        ]
    else:
        socks = [
            Socket(i, f"{target.ws}/ws/chat/?conversation={uuid.uuid4()}", {"Origin": target.base}) for i in range(n)
        ]
    pids = procs.tree(target.pid)
    rss_before = procs.rss_bytes(pids)
    try:
        seconds = await open_all(socks, parallel=50)
        figures: dict[str, Any] = {
            "sockets": n,
            "open_seconds": seconds,
            "open_per_second": n / seconds,
            "refused_then_retried": sum(sock.refused for sock in socks),
        }
        if ctx.hold:
            await asyncio.sleep(2.0)  # let the last connects settle
            rss_after = procs.rss_bytes(pids)
            cpu = procs.cpu_seconds(pids)
            loop = asyncio.get_running_loop()
            start = loop.time()
            await asyncio.sleep(cfg.hold)
            cpu = procs.cpu_seconds(pids) - cpu
            figures.update(
                open_after_hold=sum(sock.is_open for sock in socks),
                idle_cpu_percent=100 * cpu / (loop.time() - start),
                rss_per_socket_kb=(rss_after - rss_before) / n / 1024,
                rss_before_mb=rss_before / 2**20,
                rss_after_mb=rss_after / 2**20,
            )
        return figures
    finally:
        await close_all(socks)


async def purge(target: Target, ctx: Context) -> dict[str, Any] | None:
    """Chat latency while the retention purge deletes `purge_messages` expired messages, against
    the same load without it, on the same sockets in the same round (which goes first alternates
    by round). The product only.

    The backlog is written by COPY just before (bench/backlog.py: conversations a month past the
    cutoff, 50 messages and a data key each) and VACUUMed, as are the tables after the purge, so
    that autovacuum does not land in the other measurement. The purge runs as in production: beat's
    schedule entry sent to the round's Celery worker (bench/chat_setup.py purge), which records a
    RetentionRun; the load starts when that record appears and stops sending when it says done, so
    the load lies inside the purge (`overlap_percent` checks it, from the record's own times).

    The load is `purge_rate` (20 msg/s) over `sockets` (50) customers in the waiting queue, as in
    the chat case but fixed: a rate one process sustains with p99 well under 100 ms (its saturation
    has been 51–76 msg/s on the bench machine, so 20 is under 40 % of it), where the purge's cost
    shows as latency rather than as a queue that was already growing. Half the bare relay's rate, as
    the chat case uses, is past the product's saturation. No bot: the ack and echo of a stored
    message are the path that competes with the purge (PostgreSQL's CPU, locks and WAL); the bot's
    search is the process's own CPU.

    About 100 s a round with the million (writing it ~30 s, the purge ~15 s under the load, two
    Django processes' start, vacuums and checkpoints), so by default it runs in the first round only
    (`purge_rounds`), the load without the purge first: `make bench` stays under 20 minutes on the
    bench machine. --purge-rounds 3 alternates the order as the other cases do."""
    cfg = ctx.config
    if target.name != "product" or ctx.round >= cfg.purge_rounds:
        return None
    loaded = await asyncio.to_thread(procs.chat_setup, ctx.env, "backlog", str(cfg.purge_messages))
    figures: dict[str, Any] = {"backlog": loaded["messages"], "product_saturation": ctx.product_saturation}
    await settle(target)
    socks, _ = await customers(target, cfg.sockets, handoff=True)
    try:
        for step in ("quiet", "purging") if ctx.round % 2 == 0 else ("purging", "quiet"):
            if step == "quiet":
                figures["quiet"] = await load(
                    socks, rate=cfg.purge_rate, seconds=cfg.seconds, body=_chat_body, drain=cfg.drain
                )
            else:
                figures["purging"], figures["purge"] = await purging.during(
                    socks, ctx.env, rate=cfg.purge_rate, seconds=cfg.purge_seconds, body=_chat_body, drain=cfg.drain
                )
                await asyncio.to_thread(purging.vacuum, ctx.env["DATABASE_URL"], ctx.env["KEYS_DATABASE_URL"])
            await settle(target)
    finally:
        await close_all(socks)
    run = figures["purge"]
    figures.update(purging.overlap(figures["purging"]["window"], run["started"], run["finished"]))
    figures["ratio"] = {
        f"{series}_{q}": (figures["purging"][series][q] or 0) / figures["quiet"][series][q]
        for series in ("ack", "echo")
        for q in ("p50", "p99")
        if figures["quiet"][series][q]
    }
    return figures


Case = Callable[[Target, Context], Awaitable[dict[str, Any] | None]]
# Run in this order (saturation first: the later cases load at half the bare relay's rate).
CASES: dict[str, Case] = {
    "saturation": saturation,
    "chat": chat,
    "relay": relay,
    "bot": bot,
    "sockets": sockets,
    "purge": purge,
}
ALIASES = {
    "a": "saturation",
    "b": "chat",
    "c": "relay",
    "d": "bot",
    "e": "sockets",
    "f": "sockets",
    "open": "sockets",
    "idle": "sockets",
}
PLANNED = {
    "queue": "console queue and history pages with 100,000 conversations",
}
# The figures each case reports: (label, path into its figures); medians of rounds and ratios.
FIGURES: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "saturation": [("saturation rate, msg/s (p99 < 100 ms, none lost)", ("saturation_rate",))],
    "chat": [
        ("ack p50, ms", ("ack", "p50")),
        ("ack p99, ms", ("ack", "p99")),
        ("echo p50, ms", ("echo", "p50")),
        ("echo p99, ms", ("echo", "p99")),
        ("load, msg/s", ("rate",)),
        ("lost", ("lost",)),
    ],
    "relay": [
        ("customer→agent p50, ms", ("agent", "p50")),
        ("customer→agent p99, ms", ("agent", "p99")),
        ("ack p99, ms", ("ack", "p99")),
        ("load, msg/s", ("rate",)),
        ("lost", ("lost",)),
    ],
    "bot": [
        ("bot answer p50, ms", ("bot", "p50")),
        ("bot answer p99, ms", ("bot", "p99")),
        ("load, msg/s", ("rate",)),
        ("lost", ("lost",)),
    ],
    "sockets": [
        ("open sockets, s", ("open_seconds",)),
        ("handshakes refused with 1013, then retried", ("refused_then_retried",)),
        ("idle CPU, %", ("idle_cpu_percent",)),
        ("memory per idle socket, KiB", ("rss_per_socket_kb",)),
        ("sockets still open after the hold", ("open_after_hold",)),
    ],
    "purge": [
        *(
            (f"{series} {q} {label}, ms", (key, series, q))
            for series in ("ack", "echo")
            for q in ("p50", "p99")
            for label, key in (("without purge", "quiet"), ("during purge", "purging"))
        ),
        *(
            (f"{series} {q} during/without purge{' (target ≤ 1.5)' if q == 'p99' else ''}", ("ratio", f"{series}_{q}"))
            for series in ("ack", "echo")
            for q in ("p50", "p99")
        ),
        ("load, msg/s", ("purging", "rate")),
        ("lost without purge", ("quiet", "lost")),
        ("lost during purge", ("purging", "lost")),
        ("purge, s", ("purge", "seconds")),
        ("messages purged", ("purge", "messages")),
        ("chat load inside the purge, %", ("overlap_percent",)),
    ],
}
