#!/usr/bin/env python3
"""Draws docs/benchmarks.png from target/bench/results.json (written by `cargo bench --bench runtime`).

    python3 benches/runtime/chart.py target/bench/results.json docs/benchmarks.png

Needs matplotlib (`pip install matplotlib`).
"""
import json
import sys
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(src, dst):
    with open(src) as f:
        data = json.load(f)
    # The workloads measured against the two-part floor (the first-byte one has no null runtime).
    rows = [r for r in data["workloads"] if r["null_runtime"]["count"]]
    names = ["\n".join(textwrap.wrap(r["name"].replace("response", "resp."), 16)) for r in rows]
    width = 0.38
    fig, ax = plt.subplots(figsize=(12, 5.5), dpi=110)
    xs = [j - width / 2 for j in range(len(rows))]
    p50 = [r["lambda_fpm"]["p50"] for r in rows]
    p99 = [r["lambda_fpm"]["p99"] for r in rows]
    ax.bar(xs, p50, width, label="lambda-fpm (p50; whisker to p99)", color="#d95f02")
    ax.errorbar(xs, p50, yerr=[[0] * len(p50), [b - a for a, b in zip(p50, p99)]],
                fmt="none", ecolor="#333333", capsize=3, linewidth=1)
    fx = [j + width / 2 for j in range(len(rows))]
    fcgi = [r["floor"]["p50"] for r in rows]
    null = [r["null_runtime"]["p50"] for r in rows]
    ax.bar(fx, fcgi, width, label="floor: FastCGI round trip alone (p50)", color="#1b9e77")
    ax.bar(fx, null, width, bottom=fcgi, label="floor: + Runtime API round trip alone (null runtime, p50)",
           color="#7570b3")
    for x, v, a, b in zip(xs, p50, fcgi, null):
        floor = a + b
        ax.annotate(f"{v / floor:.2f}×" if floor else "", (x, v), textcoords="offset points",
                    xytext=(0, 3), ha="center", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylim(bottom=10)
    ax.set_ylabel("latency per invocation, µs (log scale)")
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(names, fontsize=8)
    ax.set_title("lambda-fpm vs the floor = Runtime API alone + FastCGI alone (one CPU); labels: lambda-fpm p50 / floor")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.text(0.99, 0.005, "\n".join(textwrap.wrap(data.get("machine", ""), 190)), ha="right", fontsize=6,
             color="#666666")
    fig.savefig(dst)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
