"""The thin adapter: a catalog entry and validated arguments become one PostHog request and one result.

It knows nothing of MCP: it returns a JSON object or raises `ToolError`.
"""

from __future__ import annotations

import json
import logging
import string
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import anyio

from mcp_server import errors, naming, pages, shaping, summaries
from mcp_server.accounts import Account
from mcp_server.arguments import Arguments
from mcp_server.catalog import BY_NAME, Request, Tool, Wait
from mcp_server.posthog import OFF_LOOP_BYTES, MalformedReply, PostHogError, PostHogUnreachable, ReplyTooLarge

log = logging.getLogger(__name__)

PAGING_ARGUMENTS = frozenset({"limit", "cursor"})
# The most a naming listing may add to a call (within its one deadline too): names are a courtesy, not the answer.
NAMING_SECONDS = 10.0
# How long a listing serves further calls by the same key: names change rarely, and a fresh listing on every call
# would double the call's requests to PostHog. At most LISTINGS_KEPT listings are kept, the oldest dropped first.
LISTING_SECONDS = 60.0
LISTINGS_KEPT = 64

Named = list[tuple[naming.Naming, naming.Listing]]


def running_computation(reply: Any) -> str | None:
    """The id of the computation a reply says is still running, if it says so."""
    status = reply.get("query_status") if isinstance(reply, dict) else None
    if isinstance(status, dict) and not status.get("complete") and isinstance(status.get("id"), str):
        return str(status["id"])
    return None


def _project_path(project_id: int, path: str, values: dict[str, Any]) -> str:
    return f"/api/projects/{project_id}/" + path.format(
        **{name: quote(str(value), safe="") for name, value in values.items()}
    )


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


@dataclass(frozen=True)
class _Poll:
    """Where a computation is read: the project, the tool's own path arguments, and the target errors name."""

    project_id: int
    in_path: dict[str, Any]
    target: errors.Target


class Backend:
    """Runs tools against PostHog for an account."""

    def __init__(self, web_host: str, response_budget: int, clock: Callable[[], datetime] | None = None) -> None:
        self.web_host = web_host
        self.response_budget = response_budget
        self.clock = clock or (lambda: datetime.now(UTC))
        self._listings_kept: OrderedDict[tuple[str, int, str], tuple[float, naming.Listing]] = OrderedDict()

    async def run(
        self, tool: Tool, args: Arguments, account: Account, request: Request | None = None
    ) -> dict[str, Any]:
        """Call PostHog for the tool (with `request`, its own by default) and return the normalised, shaped result."""
        request = request or tool.request
        data = args.model_dump(mode="json", exclude_none=True)
        # The next cursor carries what the caller chose, not the defaults derived from it.
        given = args.model_dump(mode="json", exclude_none=True, exclude_unset=True, exclude={"cursor"})
        walk = pages.Walk(pages.arguments_digest(data), pages.Position(), given)
        paging = tool.page if tool.page is not pages.PageStyle.BARE else None
        if paging and (cursor := data.get("cursor")):
            walk = replace(walk, position=pages.decode_cursor(tool.name, walk.digest, cursor, tool.max_limit))
        waits = tool.wait if tool.wait is not None and data.get("refresh") in tool.wait.modes else None
        if waits is not None:
            data["refresh"] = waits.modes[data["refresh"]]
        project_id = await account.project_id()
        in_path = {name: data.pop(name) for _, name, _, _ in string.Formatter().parse(request.path) if name}
        item_id = next(iter(in_path.values()), None)
        path = _project_path(project_id, request.path, in_path)
        selecting = {k: v for k, v in data.items() if k not in PAGING_ARGUMENTS}
        sent = {k: v for k, v in selecting.items() if k not in tool.not_sent}
        params = dict(tool.fixed_params)
        for name, implied in tool.with_params.items():
            if name in sent:
                params.update(implied)
        body: Any = None
        if request.method == "GET":
            params.update({k: _query_value(v) for k, v in sent.items()})
        elif request.method != "DELETE":
            body = dict(tool.fixed_body) if tool.fixed_body is not None else sent
        if paging:
            params.update(pages.request_params(paging, data["limit"], walk.position))
        target = errors.Target(
            tool.name,
            tool.noun,
            project_id,
            None if item_id is None else str(item_id),
            self.web_host,
            tool.recheck_with,
            account.source,
        )
        try:
            reply, size = await account.client.request_sized(
                request.method, path, key=account.key, params=params, json_body=body
            )
        except PostHogError as exc:
            raise errors.from_posthog(exc, target) from None
        except PostHogUnreachable as exc:
            raise errors.unreachable(exc, target) from None
        except ReplyTooLarge as exc:
            raise errors.reply_too_large(exc, target) from None
        except MalformedReply as exc:
            raise errors.malformed(exc, target) from None
        pending, polled = None, False
        if waits is not None and running_computation(reply) is not None:
            reply, pending = await self._wait(waits, reply, account, _Poll(project_id, in_path, target))
            polled = True
        named = await self._listings(tool, _objects(tool, reply), data, account, project_id)
        context = shaping.Context(self.web_host, project_id, data, self.clock())
        if size < OFF_LOOP_BYTES and not polled:
            result = self._result(tool, reply, data, in_path, walk, context, named)
        else:
            # A large reply takes a while to shape: off the event loop, so that other requests (even ping) go on.
            result = await anyio.to_thread.run_sync(self._result, tool, reply, data, in_path, walk, context, named)
        if pending is not None:
            result["note"] = pending
        return result

    async def _wait(self, wait: Wait, started: Any, account: Account, at: _Poll) -> tuple[Any, str | None]:
        """Read the computation `started` names until it completes or the call's deadline nears.

        Returns the reply to shape, and the note to add when the computation is still running: then the reply is
        the first one (whatever cached results it carried), and PostHog goes on computing.
        """
        client, policy = account.client, account.client.policy
        reserve = policy.deadline * policy.poll_reserve
        budget = client.time_left() - reserve
        delay, waited, latest = policy.poll_first, 0.0, started
        while (query_id := running_computation(latest)) is not None:
            # Sleeps are counted as well as timed, so that a replaced sleep cannot make the loop spin.
            if waited + delay > budget or client.time_left() - delay < reserve:
                return started, wait.note
            await client.pause(delay)
            waited, delay = waited + delay, min(delay * 2, policy.poll_max)
            path = _project_path(at.project_id, wait.poll.path, {**at.in_path, "client_query_id": query_id})
            latest = None
            with anyio.move_on_after(client.time_left() - reserve):
                latest = await self._read_computation(path, account, at.target)
            if latest is None:
                return started, wait.note
        return latest, None

    async def _read_computation(self, path: str, account: Account, target: errors.Target) -> Any:
        """A running computation's state; None when PostHog could not say (the computation itself goes on)."""
        try:
            return await account.client.request("GET", path, key=account.key)
        except PostHogError as exc:
            # A failed computation says so in its status; throttling and faults are the read failing, not the work.
            if exc.status not in (429, *range(500, 600)) or (
                isinstance(exc.body, dict) and exc.body.get("query_status")
            ):
                raise errors.from_posthog(exc, target) from None
            return None
        except ReplyTooLarge as exc:
            raise errors.reply_too_large(exc, target) from None
        except (PostHogUnreachable, MalformedReply):
            return None

    async def _listings(
        self, tool: Tool, objects: naming.Objects, data: dict[str, Any], account: Account, project_id: int
    ) -> Named:
        """The listings the tool's namings need for these objects, each fetched once, only with its scope."""
        wanted = [each for each in tool.naming if any(each.wanted(obj, data) for obj in objects)]
        if not wanted:
            return []
        grant = await account.grant()
        named: Named = []
        for each in wanted:
            lister = BY_NAME[each.lister]
            if lister.scope is not None and grant.allows(lister.scope):
                listing = await self._listing(lister, account, project_id)
                if listing is not None:
                    named.append((each, listing))
        return named

    async def _listing(self, lister: Tool, account: Account, project_id: int) -> naming.Listing | None:
        """The lister's first page, as large as it allows, kept a while; None when PostHog does not give it in time."""
        kept_as = (account.key, project_id, lister.name)
        kept = self._listings_kept.get(kept_as)
        if kept is not None and time.monotonic() - kept[0] < LISTING_SECONDS:
            return kept[1]
        listing = await self._fetch_listing(lister, account, project_id)
        if listing is not None:
            self._listings_kept.pop(kept_as, None)
            self._listings_kept[kept_as] = (time.monotonic(), listing)
            while len(self._listings_kept) > LISTINGS_KEPT:
                self._listings_kept.popitem(last=False)
        return listing

    async def _fetch_listing(self, lister: Tool, account: Account, project_id: int) -> naming.Listing | None:
        assert lister.page is not None
        params = {**lister.fixed_params, **pages.request_params(lister.page, lister.max_limit, pages.Position())}
        path = f"/api/projects/{project_id}/{lister.path}"
        with anyio.move_on_after(NAMING_SECONDS):
            try:
                reply = await account.client.request(lister.method, path, key=account.key, params=params)
            except (PostHogError, PostHogUnreachable, MalformedReply) as exc:
                log.info("Results go without names: %s failed (%s)", lister.name, exc)
                return None
            return naming.read_listing(reply)
        log.info("Results go without names: %s took over %.0f s", lister.name, NAMING_SECONDS)
        return None

    def _result(
        self,
        tool: Tool,
        reply: Any,
        data: dict[str, Any],
        in_path: dict[str, Any],
        walk: pages.Walk,
        context: shaping.Context,
        named: Named,
    ) -> dict[str, Any]:
        if tool.page is not None:
            return self._page(tool, reply, data.get("limit", 0), walk, context, named)
        if isinstance(reply, dict):
            # Clipped once shaped: what the shape leaves out is never walked.
            result = shaping.clip_depth(tool.shape.apply(reply, context))
        elif reply is None and tool.empty_reply:
            # PostHog answers this write with no body: say what was done instead.
            result = {"ok": True}
        else:
            raise errors.unexpected_reply(tool.name, "a JSON object")
        for name in tool.echo_arguments:
            value = in_path.get(name, data.get(name))
            if value is not None:
                result.setdefault(name, value)
        result.update(tool.result_adds)
        naming.merge(result, _names(named, [reply], data))
        if "complete" not in result:
            return shaping.fit_object(result, self.response_budget, tool.truncation_hint)
        # Results that say whether they are complete keep room to say that the budget cut them.
        result = shaping.fit_object(result, self.response_budget - summaries.RESERVE, tool.truncation_hint)
        summaries.close(result, shaping.results_key(result))
        return shaping.share_days(result)

    def _page(
        self,
        tool: Tool,
        reply: Any,
        limit: int,
        walk: pages.Walk,
        context: shaping.Context,
        named: Named,
    ) -> dict[str, Any]:
        assert tool.page is not None
        position = walk.position
        page = pages.read_page(tool.page, tool.name, reply, limit, position)
        items = [shaping.clip_depth(tool.shape.apply(item, context)) for item in page.items]
        shared = tool.shape.shared(page.items, context)
        total, paged = len(items), tool.page is not pages.PageStyle.BARE
        page_size = (position.page_size or limit) if tool.page is pages.PageStyle.NUMBERED else None
        # Room for the longest cursor and the longest note this page could carry.
        longest_cursor = pages.encode_cursor(tool.name, walk, pages.Position(pages.MAX_OFFSET, page_size))
        longest = errors.page_cut(total, total, self.response_budget, paged, tool.truncation_hint)
        # Room for the names of every item too; those of the items that fit are fewer.
        names = _names(named, page.items, context.arguments)
        frame = shaping.size(
            {"results": [], "count": page.count, "next_cursor": longest_cursor, "truncated": longest, **shared, **names}
        )
        kept = shaping.fit_items(items, frame, self.response_budget)
        items = items[:kept]
        if items and shaping.size(items[0]) + frame > self.response_budget:
            items[0] = shaping.fit_object(items[0], self.response_budget - frame, tool.truncation_hint)
        more = page.more or kept < len(page.items)
        if kept < total:
            shared = tool.shape.shared(page.items[:kept], context)
        result: dict[str, Any] = {"results": items, "count": page.count, "next_cursor": None, **shared}
        naming.merge(result, _names(named, page.items[:kept], context.arguments))
        notes = [note for name, note in tool.empty_notes.items() if context.arguments.get(name) is not None]
        if notes and not page.items:
            result["note"] = " ".join(notes)
        if kept < total:
            result["truncated"] = errors.page_cut(kept, total, self.response_budget, paged, tool.truncation_hint)
        if not paged:
            return result
        if more:
            offset = pages.following(page, position, kept)
            if offset is None:
                result["note"] = errors.no_progress()
                return result
            result["next_cursor"] = pages.encode_cursor(tool.name, walk, pages.Position(offset, page_size))
        return result


def _objects(tool: Tool, reply: Any) -> naming.Objects:
    """PostHog's objects in a reply: a page's items, or the one object."""
    found: Any = [reply] if tool.page is None else reply
    if isinstance(found, Mapping):
        found = found.get("results")
    if not isinstance(found, list):
        return []
    return [obj for obj in found if isinstance(obj, Mapping)]


def _names(named: Named, objects: list[Any], arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The fields every naming adds for these objects."""
    found = [obj for obj in objects if isinstance(obj, Mapping)]
    added: dict[str, Any] = {}
    for each, listing in named:
        naming.merge(added, each.add(found, listing, arguments))
    return added
