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
TAIL_CONCURRENCY = 64
PROFILE_CONCURRENCY = 32
RATIO_COLUMNS = [
    "model", "concurrency", "score/direct-binary", "ours/peer", "ours/kserve", "llhttp/pywsgi", "batching on/off",
]  # fmt: skip
SCORE_PATHS = ("score",)  # the p99/p50 goal: every /score path with batching on (score-nobatch is shown, not judged)


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())  # a shared machine shows here
    return {"host": platform.node(), "cores": os.cpu_count(), "cpu": model, "kernel": platform.release(), "load": load}


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
                    "ours/kserve": ratio(score, rate(results, model, "peer-kserve", concurrency)),
                    "llhttp/pywsgi": ratio(score, rate(results, model, "score-pywsgi", concurrency)),
                    "batching on/off": ratio(score, rate(results, model, "score-nobatch", concurrency)),
                }
            )
    return rows


def at_most(name: str, value: float | None, limit: float) -> tuple[str, float | None, bool]:
    return name, value, value is not None and value <= limit


def at_least(name: str, value: float | None, floor: float) -> tuple[str, float | None, bool]:
    return name, value, value is not None and value >= floor


def goals(results: list[dict]) -> list[tuple[str, Any, str]]:
    """Issue 24's goals, each met / missed / not measured in this run."""
    c, tail = GOAL_CONCURRENCY, TAIL_CONCURRENCY
    checks = []
    for model in ("tiny", "heavy"):
        cost = pick(results, model, "score", c, "front_end_cpu_us")
        checks.append(at_most(f"front-end CPU per request, {model}, c={c} <= 150 us", cost, 150))
    for model, floor in (("tiny", 0.5), ("seed", 0.4), ("heavy", 1.0)):
        value = ratio(rate(results, model, "score", c), rate(results, model, "direct-binary", c))
        checks.append(at_least(f"{model}: /score / direct binary, c={c} >= {floor}", value, floor))
    latency = ratio(pick(results, "tiny", "score", 1, "p50_ms"), pick(results, "tiny", "direct-binary", 1, "p50_ms"))
    checks.append(at_most("tiny: /score p50 / direct binary p50, c=1 <= 1.5", latency, 1.5))
    for model, peer, name, floor in (
        ("tiny", "peer", "Azure ML server", 2.0),
        ("tiny", "peer-kserve", "KServe transformer", 2.0),
        ("heavy", "peer", "Azure ML server", 4.0),
        ("raw", "peer", "Azure ML server (raw bytes)", 2.0),
    ):
        value = ratio(rate(results, model, "score", c), rate(results, model, peer, c))
        checks.append(at_least(f"{model}: ours / {name}, c={c} >= {floor}", value, floor))
    for model in ("tiny", "heavy", "seed", "raw"):
        for path in SCORE_PATHS:
            p50, p99 = (pick(results, model, path, tail, field) for field in ("p50_ms", "p99_ms"))
            checks.append(at_most(f"p99 / p50, {model} {path}, c={tail} <= 2", ratio(p99, p50), 2))
    factor = pick(results, "heavy", "score", c, "batching_factor")
    checks.append(at_least(f"batching factor via /score, heavy, c={c} >= 4", factor, 4))
    return [
        (name, value, "met" if ok else ("missed" if value is not None else "not measured"))
        for name, value, ok in checks
    ]


def profiles(results: list[dict]) -> list[str]:
    """Where each /score path's front-end time goes (py-spy, a separate run at the profile concurrency)."""
    lines = []
    for result in results:
        if not result.get("profile"):
            continue
        lines += [
            f"### {result['model']} {result['path']}, c={result['concurrency']}: "
            f"{result['front_end_cpu_us']} us/request ({result['front_end_user_us']} user, "
            f"{result['front_end_system_us']} kernel)",
            "",
            *table(result["profile"], ["component", "share", "us_per_request"]),
            "",
        ]
    return lines


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
    figure, axes = plt.subplots(2, len(models), figsize=(6 * len(models), 8.5), squeeze=False)
    for column, model in enumerate(models):
        for row, (field, label) in enumerate((("rate", "requests / s"), ("p99_ms", "p99 latency, ms"))):
            axis = axes[row][column]
            for series in sorted({result["path"] for result in results}):
                points = sorted(
                    (r["concurrency"], r[field]) for r in results if r["model"] == model and r["path"] == series
                )
                axis.plot([x for x, _ in points], [y for _, y in points], marker="o", label=series)
            axis.set_title(f"{model} model: {label}")
            axis.set_xlabel("concurrent connections")
            axis.set_ylabel(label)
            axis.set_xscale("log", base=2)
            if field == "p99_ms":
                axis.set_yscale("log")
            axis.grid(True, alpha=0.3)
            axis.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_report(results: list[dict], arguments: argparse.Namespace) -> list[Path]:
    facts = machine()
    checked = goals(results)
    if getattr(arguments, "image", ""):  # one user image: only the goals its paths measure
        checked = [goal for goal in checked if goal[2] != "not measured"]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    image = getattr(arguments, "image", "")
    suffix = "-smoke" if arguments.smoke else (f"-{Path(image).name}" if image else "")
    stem = f"{stamp}-{facts['host']}{suffix}"
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
                "goals": checked,
            },
            indent=2,
        )
        + "\n"
    )
    plot_path = arguments.out / f"{stem}.png"
    plot(results, plot_path)
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
        "rows_per_triton_request",
        "worker_rss_mb",
    ]
    lines = [
        f"# Bench {stamp} on {facts['host']}",
        "",
        f"Machine: {facts['cores']} cores, {facts['cpu']}, kernel {facts['kernel']}, load average at the start "
        f"{getattr(arguments, 'load_at_start', '?')}, at the end {facts['load']}.",
        f"Settings: {json.dumps(settings)}. Paths: direct-json/direct-binary = Triton's HTTP infer in the image; "
        "score = the image's /score (the default HTTP layer, llhttp); score-pywsgi = the same image with "
        "WORKER_CLASS=gevent_pywsgi (the previous layer), measured alternately with score at each level; score-close = "
        "score with one connection per request (Connection: close); score-nobatch = the same image with Triton's "
        "dynamic batching off; peer = azureml-inference-server-http running the same model and pre/post-processing "
        "in-process; peer-kserve = KServe's Python transformer calling the same Triton over HTTP (v2). Models: tiny = "
        "mlp-classifier, heavy = heavy-mlp, seed = seed-style (the Azure ML guide's script: metadata and class_count "
        "through tritonhttpclient on every call), raw = aml-digits (a ~100 KB JPEG as application/octet-stream "
        "through @rawhttp, decoded by PIL). worker_rss_mb = the largest Gunicorn process's resident set right after "
        "the load. front_end_cpu_us = utime+stime of every process in the container "
        "except tritonserver and its backend stubs, per request; rows_per_triton_request = rows per inference request "
        "Triton received (above 1: the front end joined concurrent calls).",
        "",
        *table(results, columns),
        "",
        "## Ratios",
        "",
        *table(ratios(results), RATIO_COLUMNS),
        "",
        "## Goals",
        "",
        *table(
            [{"goal": name, "value": value, "result": result} for name, value, result in checked],
            ["goal", "value", "result"],
        ),
        "",
        "## Where the front end's time goes",
        "",
        f"py-spy samples of the Gunicorn processes in a separate run at c={PROFILE_CONCURRENCY} (or the nearest level "
        "measured), by component (the "
        "innermost frame of ours or a library's). The socket row is time inside send/recv, which on a shared "
        "machine includes waiting for a CPU; its us/request is the measured kernel time. The other rows share the "
        "measured user time by their samples.",
        "",
        *profiles(results),
        f"![throughput and p99 latency]({plot_path.name})",
        "",
    ]
    markdown = arguments.out / f"{stem}.md"
    markdown.write_text("\n".join(lines))
    return [markdown, raw, plot_path]
