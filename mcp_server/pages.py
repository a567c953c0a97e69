"""PostHog's four list shapes, normalised into one page with an opaque cursor."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from mcp_server import errors

CURSOR_VERSION = 2
MAX_OFFSET = 10_000_000
# Characters of JSON arguments a cursor carries; larger arguments travel as their digest only (cursors stay short).
MAX_CARRIED = 600


class PageStyle(Enum):
    """How PostHog pages a list."""

    OFFSET = "offset"  # limit/offset, {"count", "next", "previous", "results"}
    OFFSET_NO_COUNT = "offset_no_count"  # limit/offset without count; older servers send a bare list
    NUMBERED = "numbered"  # limit/page, {"results", "next", "previous", "total_count"}
    BARE = "bare"  # one bare list, no paging at all


@dataclass(frozen=True)
class Position:
    """Where a walk through a list stands: the next item's index, and the page size of numbered pages."""

    offset: int = 0
    page_size: int | None = None


@dataclass(frozen=True)
class Page:
    """The items of one call, the total when PostHog gives one, and whether more follow.

    `boundary` is where PostHog's next numbered page starts, when this call reached the end of the current one.
    """

    items: list[Any]
    count: int | None
    more: bool
    boundary: int | None = None


def arguments_digest(arguments: Mapping[str, Any]) -> str:
    """A short digest of the arguments that select the list (everything but `limit` and `cursor`)."""
    selecting = {k: v for k, v in arguments.items() if k not in ("limit", "cursor")}
    canonical = json.dumps(selecting, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Walk:
    """A list call's place in its walk: the digest of its arguments, where it starts, and the arguments the
    caller gave, which its next cursor carries."""

    digest: str
    position: Position
    carried: Mapping[str, Any]


def encode_cursor(tool: str, walk: Walk, position: Position) -> str:
    """An opaque cursor naming the tool, the arguments and the position.

    It also carries the arguments themselves when they are small enough, so that `{"cursor": ...}` alone
    fetches the next page.
    """
    state: dict[str, Any] = {"v": CURSOR_VERSION, "t": tool, "a": walk.digest, "o": position.offset}
    if position.page_size is not None:
        state["s"] = position.page_size
    if len(json.dumps(walk.carried, separators=(",", ":"))) <= MAX_CARRIED:
        state["q"] = dict(walk.carried)
    raw = json.dumps(state, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _state(tool: str, cursor: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        state = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        raise errors.not_our_cursor() from None
    if not isinstance(state, dict) or state.get("v") != CURSOR_VERSION:
        raise errors.not_our_cursor()
    if state.get("t") != tool:
        raise errors.cursor_of_another_tool(state.get("t"), tool)
    return state


def with_carried_arguments(tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The call's arguments, completed with those its cursor carries; what the call gives wins.

    The result is validated like any fresh arguments, and the cursor's digest is checked afterwards, so a cursor
    (hand-made or not) can do nothing that a direct call could not.
    """
    cursor = arguments.get("cursor")
    if not isinstance(cursor, str):
        return arguments
    carried = _state(tool, cursor).get("q")
    if carried is None:
        return arguments
    if not isinstance(carried, dict):
        raise errors.not_our_cursor()
    return {**carried, **arguments}


def decode_cursor(tool: str, digest: str, cursor: str, max_page_size: int) -> Position:
    """The position a cursor encodes, refusing cursors of other tools, other arguments or none of ours."""
    state = _state(tool, cursor)
    if state.get("a") != digest:
        raise errors.cursor_arguments_differ(carried="q" in state)
    offset, size = state.get("o"), state.get("s")
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= MAX_OFFSET:
        raise errors.cursor_out_of_range("position")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= max_page_size):
        raise errors.cursor_out_of_range("page size")
    return Position(offset, size)


def request_params(style: PageStyle, limit: int, position: Position) -> dict[str, str]:
    """The query parameters that ask PostHog for the page holding `position`."""
    if style is PageStyle.BARE:
        return {}
    if style is PageStyle.NUMBERED:
        size = position.page_size or limit
        return {"limit": str(size), "page": str(position.offset // size + 1)}
    return {"limit": str(limit), "offset": str(position.offset)}


def following(page: Page, position: Position, kept: int) -> int | None:
    """The offset the next call starts at, when it is past this one; None when the list cannot advance."""
    if kept == len(page.items) and page.boundary is not None:
        return page.boundary
    return position.offset + kept if kept else None


def _envelope(reply: Any, tool: str) -> tuple[list[Any], Mapping[str, Any]]:
    if isinstance(reply, Mapping) and isinstance(reply.get("results"), list):
        return reply["results"], reply
    raise errors.unexpected_reply(tool, "a page with `results`")


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def read_page(style: PageStyle, tool: str, reply: Any, limit: int, position: Position) -> Page:
    """The items of this call out of PostHog's reply, whichever of the four shapes it has."""
    if style is PageStyle.BARE:
        if not isinstance(reply, list):
            raise errors.unexpected_reply(tool, "a list")
        return Page(list(reply), len(reply), False)
    if style is PageStyle.OFFSET_NO_COUNT and isinstance(reply, list):
        # An older server ignores limit/offset and sends everything: page through it here.
        window = reply[position.offset : position.offset + limit]
        return Page(window, len(reply), position.offset + len(window) < len(reply))
    items, envelope = _envelope(reply, tool)
    more = envelope.get("next") is not None
    if style is PageStyle.NUMBERED:
        size = position.page_size or limit
        skip = position.offset % size
        window = items[skip : skip + limit]
        # A page shorter than its size that links to another still ends here: carry on at the next page.
        boundary = None
        if more and items and skip + len(window) >= len(items):
            boundary = (position.offset // size + 1) * size
        more = more or skip + len(window) < len(items)
        return Page(window, _count(envelope.get("total_count")), more, boundary)
    count = _count(envelope.get("count")) if style is PageStyle.OFFSET else None
    return Page(items[:limit], count, more or len(items) > limit)
