"""Page-number pagination in api.video's shape: page math and the `links` list."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from upload_service.core.models import Pagination, PaginationLink


@dataclass(frozen=True)
class PageWindow:
    """Which items of the sorted sequence a page holds: `take` of them after `skip`."""

    skip: int
    take: int


def page_window(items_total: int, current_page: int, page_size: int) -> PageWindow:
    skip = (current_page - 1) * page_size
    return PageWindow(skip=skip, take=max(0, min(page_size, items_total - skip)))


def pages_total(items_total: int, page_size: int) -> int:
    """At least one page, even an empty one, so `first` and `last` always exist."""
    return max(1, -(-items_total // page_size))


def build_pagination(
    path: str,
    items_total: int,
    current_page: int,
    page_size: int,
    current_page_items: int,
    extra_query: dict[str, str] | None = None,
) -> Pagination:
    last = pages_total(items_total, page_size)

    def uri(page: int) -> str:
        return f"{path}?{urlencode({**(extra_query or {}), 'currentPage': page, 'pageSize': page_size})}"

    links = [PaginationLink(rel="self", uri=uri(current_page)), PaginationLink(rel="first", uri=uri(1))]
    if 1 < current_page <= last + 1:
        links.append(PaginationLink(rel="previous", uri=uri(current_page - 1)))
    if current_page < last:
        links.append(PaginationLink(rel="next", uri=uri(current_page + 1)))
    links.append(PaginationLink(rel="last", uri=uri(last)))
    return Pagination(
        current_page=current_page,
        current_page_items=current_page_items,
        page_size=page_size,
        pages_total=last,
        items_total=items_total,
        links=links,
    )
