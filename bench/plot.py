"""``python -m bench.plot LOAD.json OUT.png``: latency and projection lag against offered load.

Runs in ``.venv-bench`` (matplotlib, Agg backend: no display); reads what ``bench.load.run.save``
wrote. Against the offered rate: response time (p50 and p95 of every request, p95 of product
pages and of checkouts), projection lag (p50, p95), and the achieved rate.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def draw(result: dict[str, Any], png: Path) -> None:
    levels = result["levels"]
    offered = [level["offered"] for level in levels]
    figure, (latency, lag, rate) = plt.subplots(1, 3, figsize=(14, 4.2), dpi=100)

    latency.plot(offered, [lv["total"]["p50"] for lv in levels], "o-", label="all requests p50")
    latency.plot(offered, [lv["total"]["p95"] for lv in levels], "o--", label="all requests p95")
    for route, style in (("GET /products/{id}", "s:"), ("POST /carts/{id}/checkout", "^:")):
        p95 = [lv["routes"].get(route, {}).get("p95", math.nan) for lv in levels]
        latency.plot(offered, p95, style, label=f"{route} p95")
    latency.set_title("Response time")
    latency.set_ylabel("ms (log scale)")

    lag.plot(offered, [_percentile(lv["lag_ms"], 0.5) for lv in levels], "o-", color="tab:green", label="p50")
    lag.plot(
        offered, [_percentile(lv["lag_ms"], 0.95) for lv in levels], "o--", color="tab:green", label="p95"
    )
    lag.set_title("Projection lag (price change to Query API)")
    lag.set_ylabel("ms (log scale)")

    rate.plot(offered, [lv["total"]["rps"] for lv in levels], "d-", color="tab:gray", label="achieved")
    rate.plot(offered, offered, ":", color="tab:gray", label="achieved = offered")
    rate.set_title("Throughput")
    rate.set_ylabel("requests/s")

    for axes in (latency, lag):
        axes.set_yscale("log")
    for axes in (latency, lag, rate):
        axes.set_xlabel("offered load (requests/s)")
        axes.grid(visible=True, which="both", alpha=0.3)
        axes.legend(fontsize=8)

    loads = [lv["load_average"] for lv in levels]
    figure.suptitle(
        f"Local stack (moto, worker processes) on {result['cores']} cores: browse-heavy mix, "
        f"1x = {result['base_rate']:g} requests/s; machine load average {min(loads):.1f}-{max(loads):.1f}",
        fontsize=10,
    )
    figure.tight_layout()
    figure.savefig(png, metadata={"Software": None})  # no matplotlib version: the PNG changes less
    plt.close(figure)


def main(argv: list[str]) -> None:
    data, png = Path(argv[0]), Path(argv[1])
    draw(json.loads(data.read_text()), png)
    print(f"bench: wrote {png}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
