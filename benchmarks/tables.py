"""The plain-text tables `make bench` prints (benchmarks/run.py), and each part of it run alone."""

from __future__ import annotations

from typing import Any


def table(title: str, rows: list[dict[str, Any]]) -> str:
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    lines = [
        f"\n## {title}",
        " | ".join(c.ljust(widths[c]) for c in columns),
        " | ".join("-" * widths[c] for c in columns),
    ]
    lines += [" | ".join(str(r[c]).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(lines)
