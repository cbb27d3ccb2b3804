"""`make bench`: every measurement in one run, one table printed, the same written as JSON."""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cold_start
import cost
import delivery
import forwarding
import landing
import latency
import media_import
import multipart
import price
import size
from tables import table

RESULTS = Path(__file__).resolve().parent / "results.json"


def main() -> None:
    started = time.time()
    results: dict[str, Any] = {"machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"}
    results["cold_start"] = cold_start.measure(runs=int(os.environ.get("COLD_RUNS", "7")))
    rows = cost.measure()
    for row in rows:
        row["calls"] = ", ".join(f"{name} x{n}" for name, n in Counter(row["calls"].split(",")).items())
    results["dynamodb_cost"] = rows
    results["warm_latency"] = latency.measure(int(os.environ.get("REQUESTS", "200")))
    results["built_size"] = size.measure()
    results.update(forwarding.measure(rounds=int(os.environ.get("FORWARD_ROUNDS", forwarding.ROUNDS))))
    results.update(multipart.measure(rounds=int(os.environ.get("MULTIPART_ROUNDS", multipart.ROUNDS))))
    results["delivery"] = delivery.measure(rounds=int(os.environ.get("DELIVERY_ROUNDS", delivery.ROUNDS)))
    results["landing"] = landing.measure(rounds=int(os.environ.get("LANDING_ROUNDS", landing.ROUNDS)))
    results["media_import"] = media_import.measure(
        int(os.environ.get("MEDIA_IMPORT_RUNS", media_import.RUNS)), results["cold_start"]
    )
    results["price_figures"] = price.measure()
    results["seconds"] = round(time.time() - started)
    print(
        table(
            "Cold start (median of fresh processes; ratio to the boto3 floor, goal <= 1.3;"
            " ratio_to_libraries: over the floor + libraries reference)",
            results["cold_start"],
        )
    )
    print(table("DynamoDB work per operation", results["dynamodb_cost"]))
    print(
        table(
            "Warm latency through the local API (ms; ratio to the raw emulator round trips)",
            results["warm_latency"],
        )
    )
    print(table("Built size (sam build, unzipped)", results["built_size"]))
    for key, title in forwarding.TABLES.items():
        print(table(title, results[key]))
    for key, title in multipart.TABLES.items():
        print(table(title, results[key]))
    print(table(delivery.TITLE, results["delivery"]))
    print(table(landing.TITLE, results["landing"]))
    print(table(media_import.TITLE, results["media_import"]))
    # The committed figures and docs/costs.md's tables move together (tests/unit/test_price.py).
    price.save(results["price_figures"])
    price.write_doc(results["price_figures"])
    costs = price.render(results["price_figures"])
    print(f"\n## What uploads cost (benchmarks/price.py, also in docs/costs.md)\n\n{costs}")
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(
        f"\nwritten to {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}"
        f" in {results['seconds']} s"
    )


if __name__ == "__main__":
    main()
