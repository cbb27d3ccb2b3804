"""docs/costs.md's tables are what benchmarks/price.py makes of the committed figures, the committed
figures are what the code does today (benchmarks/metering.py), and request units are counted as AWS
bills them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks import metering, price, prices, request_units

REWRITE = "run `.venv/bin/python benchmarks/price.py --measure --write-doc` and commit both files"


@pytest.mark.parametrize("page", list(price.PAGES), ids=lambda page: page.name)
def test_the_pages_tables_are_what_price_py_makes_of_the_committed_figures(page: Path) -> None:
    make = price.PAGES[page]
    assert price.doc_tables(page) == make(price.load()).strip(), f"{page.name} is stale: {REWRITE}"


def test_the_committed_figures_are_what_the_code_does_today() -> None:
    # given what was committed
    committed = price.load()

    # when the paths run again (a child process, in process against moto and the api.video double)
    fresh = metering.measure()

    # then every count is the same, and the log output within a tenth (ids and times vary in length)
    assert fresh["steps"].keys() == committed["steps"].keys(), REWRITE
    for name, step in fresh["steps"].items():
        before = committed["steps"][name]
        assert {k: v for k, v in step.items() if k != "log_bytes"} == {
            k: v for k, v in before.items() if k != "log_bytes"
        }, f"{name} makes other AWS calls now: {REWRITE}"
        assert step["log_bytes"] == pytest.approx(before["log_bytes"], rel=0.1, abs=50), f"{name}: {REWRITE}"
    for key in ("alarms", "custom_metrics"):
        assert fresh[key] == committed[key], f"{key}: {REWRITE}"
    assert fresh["largest_item_bytes"] <= 1024, "an item over 1 KB costs more than one write unit"


def _s(text: str) -> dict[str, Any]:
    return {"S": text}


ITEM = {"PK": _s("TOKEN#a"), "SK": _s("TOKEN"), "status": _s("PENDING")}
INDEXED = {**ITEM, "activeOwner": _s("u1"), "createdSort": _s("2026-12-07")}
INDEXES = {"ByOwnerCreated": ("activeOwner", "createdSort"), "OpenByTargetExpiry": ("openAll", "openUntil")}


@pytest.mark.parametrize(
    ("kind", "transactional", "before", "after", "units"),
    [
        ("put", False, None, ITEM, 1),  # a new item, in no index
        ("put", True, None, ITEM, 2),  # the same inside a transaction
        ("put", False, None, INDEXED, 2),  # and into one index
        ("put", True, None, INDEXED, 3),  # transactional on the table, standard on the index
        ("update", False, INDEXED, {**INDEXED, "status": _s("FULL")}, 2),  # changed in place in the index
        ("update", False, INDEXED, {**INDEXED, "createdSort": _s("2026-12-08")}, 3),  # moved: delete + put
        ("update", False, INDEXED, ITEM, 2),  # left the index
        ("update", False, ITEM, ITEM, 1),  # nothing changed: the table write only
        ("check", True, INDEXED, INDEXED, 2),  # a ConditionCheck is an item of the transaction
        ("delete", False, INDEXED, None, 2),
        ("put", False, None, {**ITEM, "blob": _s("x" * 1500)}, 2),  # 1.5 KB rounds up to 2 units
    ],
)
def test_write_units_count_the_item_its_size_and_its_indexes(
    kind: str, transactional: bool, before: dict[str, Any] | None, after: dict[str, Any] | None, units: int
) -> None:
    target = request_units.WriteTarget(
        "table", {"PK": ITEM["PK"], "SK": ITEM["SK"]}, kind, transactional, before, after
    )
    assert request_units.write_units(target, INDEXES, failed=False) == units


def test_a_failed_conditional_write_still_costs_its_item() -> None:
    target = request_units.WriteTarget("table", {}, "update", False, INDEXED, INDEXED)
    assert request_units.write_units(target, INDEXES, failed=True) == 1


@pytest.mark.parametrize(
    ("operation", "params", "parsed", "units"),
    [
        ("GetItem", {"ConsistentRead": True}, {"Item": ITEM}, 1.0),
        ("GetItem", {}, {"Item": ITEM}, 0.5),  # eventually consistent: half
        ("GetItem", {"ConsistentRead": True}, {}, 1.0),  # a miss costs a read too
        ("GetItem", {"ConsistentRead": True}, {"Item": {**ITEM, "blob": _s("x" * 5000)}}, 2.0),
        ("Query", {"ConsistentRead": True}, {"ScannedCount": 1}, 1.0),
        ("Query", {"ConsistentRead": True}, {"ScannedCount": 9}, 3.0),  # 9 KB at most: 3 units of 4 KB
        ("Query", {"IndexName": "AllByExpiry"}, {"ScannedCount": 0}, 0.5),  # an index: eventually consistent
    ],
)
def test_read_units_round_to_4_kb_and_halve_when_eventually_consistent(
    operation: str, params: dict[str, Any], parsed: dict[str, Any], units: float
) -> None:
    assert request_units.read_units(operation, params, parsed, 1024) == units


def test_item_sizes_follow_dynamodbs_rules() -> None:
    assert request_units.item_size({"ab": {"S": "héllo"}}) == 2 + 6  # names and strings in UTF-8 bytes
    assert request_units.item_size({"n": {"N": "12345"}}) == 1 + 4  # 3 bytes for 5 digits, plus 1
    assert request_units.item_size({"m": {"M": {"k": {"BOOL": True}}}}) == 1 + 3 + 1 + 1 + 1
    assert request_units.item_size({"l": {"L": [{"NULL": True}, {"S": "ab"}]}}) == 1 + 3 + (1 + 1) + (2 + 1)


def test_the_large_upload_is_cut_as_uppy_and_the_forwarder_cut_it() -> None:
    assert prices.ASSUME.parts(prices.GIB) == 205  # 5 MiB parts, the last 4 MiB
    assert prices.ASSUME.parts(100 * prices.GIB) == 10000  # no more than S3 takes: the parts grow instead
    assert prices.ASSUME.chunks(prices.GIB) == 21  # 50 MiB chunks
    assert prices.ASSUME.chunks(10 * prices.MIB) == 1


def test_every_price_names_where_it_was_read() -> None:
    for name, each in prices.PRICES.items():
        assert each.source in prices.SOURCES, name
    for url in prices.SOURCES.values():
        assert url.startswith("https://aws.amazon.com/"), url
    assert prices.PRICES_REGION == "us-east-1"
