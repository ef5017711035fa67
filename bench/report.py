"""The chat benchmark's output: raw JSON per case, latency plots, the markdown summary and the
table in README.md (between the bench markers)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import cases

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _get(figures: dict[str, Any] | None, path: tuple[str, ...]) -> float | None:
    value: Any = figures
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value if isinstance(value, int | float) else None


def headline(case: str, figures: dict[str, Any] | None) -> str:
    if figures is None:
        return "(not applicable)"
    parts = []
    for label, path in cases.FIGURES[case]:
        value = _get(figures, path)
        parts.append(f"{label.split(',')[0]}={value:.1f}" if value is not None else f"{label.split(',')[0]}=–")
    return "; ".join(parts)


def rows(case: str, by_target: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """One row per figure: min/median/max over rounds for each target, and the ratio of medians."""
    out = []
    for label, path in cases.FIGURES[case]:
        row: dict[str, Any] = {"figure": label}
        for target in ("product", "bare"):
            values = [v for v in (_get(f, path) for f in by_target.get(target, [])) if v is not None]
            row[target] = (
                {"min": min(values), "median": statistics.median(values), "max": max(values)} if values else None
            )
        p, b = row["product"], row["bare"]
        row["ratio"] = p["median"] / b["median"] if p and b and b["median"] else None
        out.append(row)
    return out


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _spread(cell: dict[str, float] | None) -> str:
    return f"{_fmt(cell['median'])} ({_fmt(cell['min'])}–{_fmt(cell['max'])})" if cell else "–"


def _table(summary: dict[int, dict[str, list[dict[str, Any]]]]) -> list[str]:
    lines = [
        "| processes | case | figure | product median (min–max) | bare median (min–max) | product/bare |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for processes, by_case in summary.items():
        for case, case_rows in by_case.items():
            for row in case_rows:
                ratio = f"{row['ratio']:.2f}" if row["ratio"] is not None else "–"
                lines.append(
                    f"| {processes} | {case} | {row['figure']} | {_spread(row['product'])} | {_spread(row['bare'])} | {ratio} |"
                )
    return lines


def _plot(path: Path, case: str, runs: dict[int, dict[str, dict[str, list[Any]]]]) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if case == "saturation":
        fig, ax = plt.subplots(figsize=(7, 4))
        for processes, by_case in runs.items():
            for target, rounds in by_case[case].items():
                for i, figures in enumerate(rounds):
                    steps = figures["steps"]
                    worst = [max(s["ack"]["p99"] or 0, s["echo"]["p99"] or 0) for s in steps]
                    ax.plot([s["rate"] for s in steps], worst, marker="o", label=f"{target} ×{processes} r{i + 1}")
        ax.axhline(100, color="grey", linestyle="--")
        ax.set(xscale="log", yscale="log", xlabel="offered rate, msg/s", ylabel="worst of ack/echo p99, ms")
    elif case in ("chat", "relay", "bot"):
        series = [
            name
            for name in ("ack", "echo", "agent", "bot")
            if any(
                f.get(f"{name}_samples")
                for by_case in runs.values()
                for rounds in by_case[case].values()
                for f in rounds
            )
        ]
        if not series:
            return False
        fig, axes = plt.subplots(1, len(series), figsize=(5 * len(series), 4), squeeze=False)
        for ax, name in zip(axes[0], series, strict=True):
            for processes, by_case in runs.items():
                for target, rounds in by_case[case].items():
                    values = sorted(v for f in rounds for v in f.get(f"{name}_samples", []))
                    if values:
                        ax.plot(values, [i / len(values) for i in range(len(values))], label=f"{target} ×{processes}")
            ax.set(xscale="log", xlabel=f"{name} latency, ms (from the due time)", ylabel="fraction", title=name)
            ax.legend()
        fig.suptitle(f"{case}: latency CDF, all rounds")
    elif case == "purge":
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        for ax, name in zip(axes, ("ack", "echo"), strict=True):
            for processes, by_case in runs.items():
                for key, label in (("quiet", "without purge"), ("purging", "during purge")):
                    values = sorted(v for f in by_case[case]["product"] for v in f[key].get(f"{name}_samples", []))
                    if values:
                        ax.plot(values, [i / len(values) for i in range(len(values))], label=f"{label} ×{processes}")
            ax.set(xscale="log", xlabel=f"{name} latency, ms (from the due time)", ylabel="fraction", title=name)
            ax.legend()
        fig.suptitle("purge: chat latency CDF with and without the retention purge, all rounds")
    else:
        return False
    if case == "saturation":
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def write(
    out: Path,
    info: dict[str, Any],
    runs: dict[int, dict[str, dict[str, list[Any]]]],
    micro: dict[str, str],
    *,
    update_readme: bool,
) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    date = info["date"]
    summary = {p: {case: rows(case, by_target) for case, by_target in by_case.items()} for p, by_case in runs.items()}
    paths, plots = [], []
    case_names = sorted({case for by_case in runs.values() for case in by_case})
    for case in case_names:
        path = out / f"{date}-{case}.json"
        raw = {str(p): by_case[case] for p, by_case in runs.items()}
        rows_of = {str(p): summary[p][case] for p in runs}
        path.write_text(json.dumps({**info, "case": case, "summary": rows_of, "runs": raw}, separators=(",", ":")))
        paths.append(path)
        png = out / f"{date}-{case}.png"
        if _plot(png, case, runs):
            plots.append(png)
            paths.append(png)
    m = info["machine"]
    machine_line = f"{m['cores']} cores, {m['cpu']}, Python {m['python']}, commit {m['commit']}"
    lines = [
        f"# Chat benchmark, {date}",
        "",
        f"Machine: {machine_line}. Rounds: {info['rounds']} (product and bare relay alternating)"
        f"{', quick' if info['quick'] else ''}; {info['seconds']} s in all.",
        f"Server settings changed for the load generator: {', '.join(f'{k}={v}' for k, v in info['server_env'].items())}.",
        "Latencies in ms from each message's due time (open loop). Ratio: product median / bare median.",
        "",
        *_table(summary),
        "",
        *(f"![{p.stem}]({p.name})" for p in plots),
    ]
    for name, text in micro.items():
        lines += ["", f"## bench/{name}.py", "", "```", text, "```"]
    md = out / f"{date}-summary.md"
    md.write_text("\n".join(lines) + "\n")
    paths.append(md)
    if update_readme and summary:
        text = README.read_text()
        if START in text and END in text:
            head, _, rest = text.partition(START)
            _, _, tail = rest.partition(END)
            block = [
                START,
                f"Measured {date} on {machine_line} (`make bench`, {info['rounds']} rounds; "
                f"bench/results/{date}-summary.md):",
                "",
                *_table(summary),
                END,
            ]
            README.write_text(head + "\n".join(block) + tail)
            paths.append(README)
    return paths
