#!/usr/bin/env python3
"""Draws docs/benchmarks.png from target/bench/results.json (written by `cargo bench --bench runtime`).

    python3 benches/runtime/chart.py target/bench/results.json docs/benchmarks.png

Needs matplotlib (`pip install matplotlib`).
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(src, dst):
    with open(src) as f:
        data = json.load(f)
    rows = data["workloads"]
    names = [r["name"].replace(" (", "\n(").replace("response", "resp.") for r in rows]
    sides = [
        ("lambda_fpm", "lambda-fpm", "#d95f02"),
        ("floor", "floor: FastCGI direct", "#1b9e77"),
        ("fastcgi_client", "floor: fastcgi-client 0.12", "#7570b3"),
    ]
    width = 0.27
    fig, ax = plt.subplots(figsize=(12, 5.5), dpi=110)
    for i, (key, label, color) in enumerate(sides):
        xs = [j + (i - 1) * width for j in range(len(rows))]
        p50 = [r[key]["p50"] for r in rows]
        p99 = [r[key]["p99"] for r in rows]
        ax.bar(xs, p50, width, label=f"{label} (p50; whisker to p99)", color=color)
        ax.errorbar(xs, p50, yerr=[[0] * len(p50), [b - a for a, b in zip(p50, p99)]],
                    fmt="none", ecolor="#333333", capsize=3, linewidth=1)
        if key == "lambda_fpm":
            for x, v, r in zip(xs, p50, rows):
                ratio = v / r["floor"]["p50"] if r["floor"]["p50"] else 0
                ax.annotate(f"{ratio:.2f}×", (x, v), textcoords="offset points", xytext=(0, 3),
                            ha="center", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("latency per invocation, µs (log scale)")
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(names, fontsize=8)
    ax.set_title("lambda-fpm vs the floor (same php-fpm, one CPU); labels: lambda-fpm p50 / floor p50")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.text(0.99, 0.01, data.get("machine", ""), ha="right", fontsize=6, color="#666666")
    fig.tight_layout()
    fig.savefig(dst)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
