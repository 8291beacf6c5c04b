"""Bench output: raw JSON, a markdown table with ratios and goals, and a throughput plot, with machine facts."""

from __future__ import annotations

import argparse
import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

GOAL_CONCURRENCY = 32


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"host": platform.node(), "cores": os.cpu_count(), "cpu": model, "kernel": platform.release()}


def rate(results: list[dict], model: str, path: str, concurrency: int) -> float | None:
    for result in results:
        if (result["model"], result["path"], result["concurrency"]) == (model, path, concurrency):
            return float(result["rate"])
    return None


def pick(results: list[dict], model: str, path: str, concurrency: int, field: str) -> Any:
    for result in results:
        if (result["model"], result["path"], result["concurrency"]) == (model, path, concurrency):
            return result[field]
    return None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    return round(numerator / denominator, 2) if numerator and denominator else None


def ratios(results: list[dict]) -> list[dict]:
    rows = []
    for model in sorted({result["model"] for result in results}):
        for concurrency in sorted({result["concurrency"] for result in results}):
            score = rate(results, model, "score", concurrency)
            rows.append(
                {
                    "model": model,
                    "concurrency": concurrency,
                    "score/direct-binary": ratio(score, rate(results, model, "direct-binary", concurrency)),
                    "ours/peer": ratio(score, rate(results, model, "peer", concurrency)),
                    "batching on/off": ratio(score, rate(results, model, "score-nobatch", concurrency)),
                }
            )
    return rows


def goals(results: list[dict]) -> list[tuple[str, Any, str]]:
    c = GOAL_CONCURRENCY
    checks = []
    for model in ("tiny", "heavy"):
        cost = pick(results, model, "score", c, "front_end_cpu_us")
        checks.append((f"front-end cost, {model}, c={c} <= 250 us/request", cost, cost is not None and cost <= 250))
    for model, floor in (("tiny", 0.4), ("heavy", 0.6)):
        value = ratio(rate(results, model, "score", c), rate(results, model, "direct-binary", c))
        checks.append((f"scoring/direct, {model}, c={c} >= {floor}", value, value is not None and value >= floor))
    value = ratio(rate(results, "heavy", "score", c), rate(results, "heavy", "peer", c))
    checks.append((f"ours/peer, heavy, c={c} >= 2.5", value, value is not None and value >= 2.5))
    factor = pick(results, "heavy", "score", c, "batching_factor")
    checks.append((f"batching factor via /score, heavy, c={c} >= 4", factor, factor is not None and factor >= 4))
    return [
        (name, value, "met" if ok else ("missed" if value is not None else "not measured"))
        for name, value, ok in checks
    ]


def table(rows: list[dict], columns: list[str]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append(
            "| " + " | ".join("-" if row.get(column) is None else str(row[column]) for column in columns) + " |"
        )
    return lines


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = sorted({result["model"] for result in results})
    figure, axes = plt.subplots(1, len(models), figsize=(6 * len(models), 4.5), squeeze=False)
    for axis, model in zip(axes[0], models, strict=True):
        for series in sorted({result["path"] for result in results}):
            points = sorted(
                (r["concurrency"], r["rate"]) for r in results if r["model"] == model and r["path"] == series
            )
            axis.plot([x for x, _ in points], [y for _, y in points], marker="o", label=series)
        axis.set_title(f"{model} model")
        axis.set_xlabel("concurrent connections")
        axis.set_ylabel("requests / s")
        axis.set_xscale("log", base=2)
        axis.grid(True, alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_report(results: list[dict], arguments: argparse.Namespace) -> list[Path]:
    facts = machine()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    stem = f"{stamp}-{facts['host']}" + ("-smoke" if arguments.smoke else "")
    arguments.out.mkdir(parents=True, exist_ok=True)
    settings = {
        "seconds": arguments.seconds,
        "concurrency": arguments.concurrency,
        "workers": arguments.workers,
        "peer_workers": arguments.peer_workers,
        "load": "wrk -t2, 127.0.0.1",
    }
    raw = arguments.out / f"{stem}.json"
    raw.write_text(
        json.dumps(
            {
                "machine": facts,
                "settings": settings,
                "results": results,
                "ratios": ratios(results),
                "goals": goals(results),
            },
            indent=2,
        )
        + "\n"
    )
    image = arguments.out / f"{stem}.png"
    plot(results, image)
    columns = [
        "model",
        "path",
        "concurrency",
        "rate",
        "p50_ms",
        "p99_ms",
        "errors",
        "batching_factor",
        "front_end_cpu_us",
    ]
    lines = [
        f"# Bench {stamp} on {facts['host']}",
        "",
        f"Machine: {facts['cores']} cores, {facts['cpu']}, kernel {facts['kernel']}.",
        f"Settings: {json.dumps(settings)}. Paths: direct-json/direct-binary = Triton's HTTP infer in the image; "
        "score = the image's /score; score-nobatch = the same image with Triton's dynamic batching off; peer = "
        "azureml-inference-server-http running the same model and pre/post-processing in-process.",
        "",
        *table(results, columns),
        "",
        "## Ratios",
        "",
        *table(ratios(results), ["model", "concurrency", "score/direct-binary", "ours/peer", "batching on/off"]),
        "",
        "## Goals",
        "",
        *table(
            [{"goal": name, "value": value, "result": result} for name, value, result in goals(results)],
            ["goal", "value", "result"],
        ),
        "",
        f"![throughput]({image.name})",
        "",
    ]
    markdown = arguments.out / f"{stem}.md"
    markdown.write_text("\n".join(lines))
    return [markdown, raw, image]
