from __future__ import annotations

import pytest

from upload_service.tokens.pagination import build_pagination, page_window, pages_total


@pytest.mark.parametrize(
    ("total", "size", "pages"),
    [(0, 25, 1), (1, 25, 1), (25, 25, 1), (26, 25, 2), (100, 1, 100), (101, 100, 2)],
)
def test_pages_total(total: int, size: int, pages: int) -> None:
    assert pages_total(total, size) == pages


@pytest.mark.parametrize(
    ("total", "page", "size", "skip", "take"),
    [(0, 1, 25, 0, 0), (5, 1, 2, 0, 2), (5, 3, 2, 4, 1), (5, 4, 2, 6, 0), (50, 2, 25, 25, 25)],
)
def test_page_window(total: int, page: int, size: int, skip: int, take: int) -> None:
    window = page_window(total, page, size)
    assert (window.skip, window.take) == (skip, take)


def rels(total: int, page: int, size: int = 10) -> list[str]:
    return [link.rel for link in build_pagination("/upload-tokens", total, page, size, 0).links]


def test_links_only_where_they_exist() -> None:
    assert rels(0, 1) == ["self", "first", "last"]
    assert rels(30, 1) == ["self", "first", "next", "last"]
    assert rels(30, 2) == ["self", "first", "previous", "next", "last"]
    assert rels(30, 3) == ["self", "first", "previous", "last"]
    assert rels(30, 4) == ["self", "first", "previous", "last"]
    assert rels(30, 9) == ["self", "first", "last"]


def test_links_keep_sorting_and_filter() -> None:
    pagination = build_pagination(
        "/upload-tokens", 30, 2, 10, 10, extra_query={"sortBy": "ttl", "sortOrder": "desc"}
    )
    assert pagination.links[0].uri == "/upload-tokens?sortBy=ttl&sortOrder=desc&currentPage=2&pageSize=10"
    assert pagination.model_dump()["pagesTotal"] == 3
