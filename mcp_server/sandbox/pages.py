"""Pagination envelopes exactly as DRF and PostHog build them, absolute next/previous URLs included."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib import parse


def replace_query_param(url: str, key: str, value: object | None) -> str:
    """DRF's replace_query_param (None: its remove_query_param); the query string comes back sorted."""
    scheme, netloc, path, query, fragment = parse.urlsplit(url)
    params = parse.parse_qs(query, keep_blank_values=True)
    params.pop(key, None)
    if value is not None:
        params[key] = [str(value)]
    return parse.urlunsplit((scheme, netloc, path, parse.urlencode(sorted(params.items()), doseq=True), fragment))


def _positive_int(raw: str | None, *, strict: bool) -> int | None:
    """DRF's _positive_int, returning None where DRF falls back to its default."""
    if raw is None:
        return None
    try:
        number = int(raw)
    except ValueError:
        return None
    if number < 0 or (strict and number == 0):
        return None
    return number


def limit_offset(params: Mapping[str, str], default_limit: int = 100) -> tuple[int, int]:
    """DRF LimitOffsetPagination's reading of `limit` and `offset`: bad values fall back silently, no maximum."""
    limit = _positive_int(params.get("limit"), strict=True) or default_limit
    offset = _positive_int(params.get("offset"), strict=False) or 0
    return limit, offset


def offset_envelope(url: str, items: Sequence[Any], limit: int, offset: int) -> dict[str, Any]:
    """`{count, next, previous, results}` over the whole matching `items`."""
    count = len(items)
    following = None
    if offset + limit < count:
        following = replace_query_param(replace_query_param(url, "limit", limit), "offset", offset + limit)
    preceding = None
    if offset > 0:
        with_limit = replace_query_param(url, "limit", limit)
        if offset - limit <= 0:
            preceding = replace_query_param(with_limit, "offset", None)
        else:
            preceding = replace_query_param(with_limit, "offset", offset - limit)
    return {"count": count, "next": following, "previous": preceding, "results": list(items[offset : offset + limit])}


def absolute_url_with(url: str, offset: int | None, limit: int | None, offset_alias: str = "offset") -> str:
    """PostHog's format_query_params_absolute_url: swap or append the values in place.

    A falsy offset or limit leaves the URL as it is (so `previous` can equal the current URL).
    """
    for name, value in ((offset_alias, offset), ("limit", limit)):
        if not value:
            continue
        pattern = re.compile(rf"([&?]{name}=)(\d+)")
        if pattern.search(url):
            url = pattern.sub(rf"\g<1>{value}", url)
        else:
            url += ("&" if "?" in url else "?") + f"{name}={value}"
    return url
