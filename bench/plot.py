"""``python -m bench.plot LOAD.json OUT.png``: latency and projection lag against offered load.

Runs in ``.venv-bench`` (matplotlib, Agg backend: no display); reads what ``bench.load.run.save``
wrote. Left: p50 and p95 of every request, and of product pages alone, against the offered rate;
right: projection lag (p50, p95) and the achieved rate against the offered one.
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
    figure, (latency, lag) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)

    latency.plot(offered, [lv["total"]["p50"] for lv in levels], "o-", label="all requests p50")
    latency.plot(offered, [lv["total"]["p95"] for lv in levels], "o--", label="all requests p95")
    page = "GET /products/{id}"
    latency.plot(
        offered, [lv["routes"].get(page, {}).get("p95", math.nan) for lv in levels], "s:", label=f"{page} p95"
    )
    checkout = "POST /carts/{id}/checkout"
    latency.plot(
        offered,
        [lv["routes"].get(checkout, {}).get("p95", math.nan) for lv in levels],
        "^:",
        label=f"{checkout} p95",
    )
    latency.set_xlabel("offered load (requests/s)")
    latency.set_ylabel("response time (ms)")
    latency.set_yscale("log")
    latency.set_title("Latency against load")
    latency.grid(visible=True, which="both", alpha=0.3)
    latency.legend(fontsize=8)

    lag.plot(
        offered, [_percentile(lv["lag_ms"], 0.5) for lv in levels], "o-", color="tab:green", label="lag p50"
    )
    lag.plot(
        offered, [_percentile(lv["lag_ms"], 0.95) for lv in levels], "o--", color="tab:green", label="lag p95"
    )
    lag.set_xlabel("offered load (requests/s)")
    lag.set_ylabel("projection lag (ms)")
    lag.set_yscale("log")
    lag.grid(visible=True, which="both", alpha=0.3)
    rate = lag.twinx()
    rate.plot(offered, [lv["total"]["rps"] for lv in levels], "d-", color="tab:gray", label="achieved rate")
    rate.plot(offered, offered, ":", color="tab:gray", label="offered = achieved")
    rate.set_ylabel("achieved (requests/s)")
    lag.set_title("Projection lag and achieved rate")
    handles = lag.get_legend_handles_labels()[0] + rate.get_legend_handles_labels()[0]
    labels = lag.get_legend_handles_labels()[1] + rate.get_legend_handles_labels()[1]
    lag.legend(handles, labels, fontsize=8, loc="upper left")

    figure.suptitle(
        f"Local stack (moto, {result['cores']} cores, shared machine): browse-heavy mix, "
        f"1x = {result['base_rate']:g} requests/s",
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
