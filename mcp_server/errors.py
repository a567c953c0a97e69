"""Every message an agent or a person reads when something goes wrong, and nothing else.

A failed call raises one of `ToolError`'s subclasses, which say whose failure it is (the caller's, this server's
configuration, PostHog's refusal, PostHog's failure, a bug), and `describe` is the one formatter every surface
uses. Argument checks get `ValueError`s for pydantic to report; HTTP refusals and start-up refusals get text.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import re
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import ClassVar, Literal
from urllib.parse import quote, quote_plus

from pydantic import ValidationError

from mcp_server.posthog import (
    QUERY_FAILURES,
    SAFE_METHODS,
    MalformedReply,
    PostHogError,
    PostHogUnreachable,
    ReplyTooLarge,
)

KEYS_PAGE = "PostHog > Settings > Personal API keys"
MISSING_SCOPE = re.compile(r"required scope '([^']+)'")
NO_API_KEY_ACCESS = "does not support personal api key access"
SHOWN_PROBLEMS = 10  # failing fields an error lists before "and N more"
ECHO_RUN = 12  # characters of a secret that make an echo of it rather than a coincidence
PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
# The key of the request in progress, when it carries its own: the log filter redacts it too.
REQUEST_SECRETS: ContextVar[tuple[str, ...]] = ContextVar("request_secrets", default=())


Kind = Literal["invalid", "refused", "not_found", "failed"]
KeySource = Literal["settings", "request"]
# Where a rejected key is fixed: the server's setting, or the header of the request that carried it.
KEY_FIXES: dict[KeySource, str] = {
    "settings": "set POSTHOG_PERSONAL_API_KEY to it",
    "request": "send it in this request's X-PostHog-Api-Key header",
}


class ToolError(Exception):
    """A failure the agent should read: becomes an `isError` tool result.

    Raised as one of the subclasses below, which say whose failure it is. `kind` lets protocol surfaces that answer
    with JSON-RPC errors (resources) pick the right code; a refusal's `reason` says in a few words, the same for
    every tool it applies to, why a tool is left out.
    """

    kind: ClassVar[Kind] = "failed"

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


class UserInputError(ToolError):
    """The caller's mistake: arguments or a cursor that cannot be sent. Nothing was sent to PostHog."""

    kind = "invalid"


class Refused(ToolError):
    """This server's configuration or the key's scopes rule the call out before any request."""

    kind = "refused"


class Unconfigured(ToolError):
    """The server lacks a setting the call needs and could not work it out from PostHog."""


class PostHogRefusal(ToolError):
    """PostHog answered with a refusal (4xx) the caller can act on."""


class NotFound(PostHogRefusal):
    """PostHog has no such item in the project."""

    kind = "not_found"


class PostHogFailure(ToolError):
    """PostHog failed, could not be reached, or answered with something that is not its API's answer."""


class InternalError(ToolError):
    """A bug in this server."""


def describe(exc: BaseException, where: str, secrets: Iterable[str]) -> str:
    """The one text an agent reads for a failure during `where`: a typed error's message, else a bug report.

    Every surface that answers with an error (tool results, JSON-RPC errors) formats it here, so no key reaches it.
    """
    error = exc if isinstance(exc, ToolError) else internal(where, exc)
    return redact(error.message, secrets)


@dataclass(frozen=True)
class Target:
    """What a failing call was about, for messages that name it."""

    tool: str
    noun: str
    project_id: int | None
    item_id: str | None = None
    host: str = ""
    recheck_with: str | None = None
    key_source: KeySource = "settings"


def _show(value: object, limit: int = 80) -> str:
    return _cut(repr(value), limit)


def _cut(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def invalid_arguments(tool: str, error: ValidationError, accepted: Sequence[str]) -> ToolError:
    """The failing fields of a call and why, from pydantic's report."""
    problems = []
    reported = error.errors(include_url=False)
    for item in reported[:SHOWN_PROBLEMS]:
        # Argument names come from the caller and may be huge: echoed in part, like their values.
        where = _cut(".".join(str(part) for part in item["loc"]) or "arguments")
        if item["type"] == "extra_forbidden":
            name = str(item["loc"][-1])
            # difflib is quadratic in a name's length, and no argument name is long.
            close = difflib.get_close_matches(name, accepted, n=1) if len(name) <= 100 else []
            guess = f"did you mean {close[0]!r}? " if close else ""
            problems.append(f"unknown argument {where!r} ({guess}accepted: {', '.join(accepted) or 'none'})")
        elif item["type"] == "missing":
            problems.append(f"{where}: required")
        else:
            message = item["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {message} (got {_show(item.get('input'))})")
    if len(reported) > SHOWN_PROBLEMS:
        problems.append(f"and {len(reported) - SHOWN_PROBLEMS} more")
    text = f"Invalid arguments for {tool}: " + "; ".join(problems) + ". Nothing was sent to PostHog."
    return UserInputError(text)


def arguments_not_object(tool: str) -> ToolError:
    """Arguments that are not a JSON object."""
    return UserInputError(
        f"Invalid arguments for {tool}: arguments must be a JSON object. Nothing was sent to PostHog."
    )


def _bad_cursor(reason: str) -> ToolError:
    """A cursor that is garbled, forged, or from another list."""
    return UserInputError(
        f"Invalid cursor: {reason}. Pass the next_cursor of the previous result unchanged, "
        "or leave cursor out to start from the first page."
    )


def not_our_cursor() -> ToolError:
    """A cursor that does not decode to one this server issued."""
    return _bad_cursor("it is not a cursor this server issued")


def cursor_of_another_tool(issuer: object, tool: str) -> ToolError:
    """A cursor another tool issued (its name echoed in part: it comes from the caller)."""
    return _bad_cursor(f"it was issued by {str(issuer)[:40]!r}, not {tool!r}")


def cursor_arguments_differ(*, carried: bool) -> ToolError:
    """A cursor that does not fit the arguments given beside it."""
    if carried:
        return _bad_cursor(
            "it was issued for other arguments; give it alone (limit may change), or with the same arguments"
        )
    return _bad_cursor(
        "its arguments were too large to carry, and these differ from them; repeat them exactly beside it"
    )


def cursor_out_of_range(what: Literal["position", "page size"]) -> ToolError:
    """A cursor whose position or page size no page of ours has."""
    return _bad_cursor(f"its {what} is out of range")


def unknown_query_kind(kind: object, accepted: Iterable[str]) -> ValueError:
    """A query node PostHog would refuse here (raised inside argument validation)."""
    return ValueError(f"PostHog does not accept query kind {_show(kind)} here; accepted kinds: {', '.join(accepted)}")


def not_an_insight_id(max_id: int) -> ValueError:
    """An insight id that is neither a number in range nor a short_id."""
    return ValueError(f"must be a numeric insight id (1 to {max_id}) or an 8-character short_id")


def not_a_positive_id(max_id: int, hint: str = "") -> ValueError:
    """An id that is not a positive integer in range; `hint` says where the right one comes from."""
    return ValueError(f"must be a positive integer id{hint}, at most {max_id}")


def control_character(character: str) -> ValueError:
    """Text holding a control character the field does not allow."""
    return ValueError(f"contains the control character U+{ord(character):04X}; remove it")


def not_a_date() -> ValueError:
    """A date argument in no form PostHog reads."""
    return ValueError("must be a date (YYYY-MM-DD, optionally with a time) or relative, like -7d, -24h, -3m")


def only_true_filters() -> ValueError:
    """false given to a filter PostHog applies on the parameter's mere presence."""
    return ValueError("only true is a filter here (PostHog ignores the value); leave it out to include all")


def not_a_query() -> ValueError:
    """A query argument that is not an object."""
    return ValueError("must be a query object with a `kind`")


def lone_surrogate() -> ValueError:
    """A query holding half of a UTF-16 pair, which cannot be sent as UTF-8 JSON."""
    return ValueError("holds a lone surrogate (half of a UTF-16 pair), which is not text; remove it")


def hogql_without_sql() -> ValueError:
    """A HogQLQuery with no SQL text."""
    return ValueError("a HogQLQuery needs `query`, the SQL text")


def wrapper_without_source(kind: str, sources: Iterable[str]) -> ValueError:
    """A wrapping query node without a source it can wrap."""
    return ValueError(f"a {kind} needs `source`, one of: {', '.join(sources)}")


def nothing_to_change() -> ValueError:
    """An update that gives no field to change (an empty PATCH still marks an insight saved)."""
    return ValueError("nothing to change: give at least one field besides id")


def numeric_insight_ids_only() -> str:
    """Where an insight's numeric id comes from, for a tool that takes no short_id."""
    return " (an insight's numeric id field, as insights-list or insight-get return it; short_ids do not work here)"


def unknown_tool(name: str, known: Sequence[str]) -> str:
    """The JSON-RPC error text for a tool name that does not exist (echoed in part: a name can be huge)."""
    return f"Unknown tool {_show(name)}. Available tools: {', '.join(known)}."


def unknown_resource(uri: str, template: str) -> str:
    """The JSON-RPC error text for a resource URI this server does not serve (echoed in part)."""
    return f"Unknown resource {_show(uri)}: expected {template}."


def unknown_prompt(name: str, known: Sequence[str]) -> str:
    """The JSON-RPC error text for a prompt this server does not offer (echoed in part)."""
    return f"Unknown prompt {_show(name)}. Available prompts: {', '.join(known) or 'none'}."


def prompt_argument_missing(prompt: str, argument: str) -> str:
    """The JSON-RPC error text for a prompt asked for without a required argument."""
    return f"The prompt {prompt} needs the argument {argument}."


def not_a_short_id(value: str) -> str:
    """The JSON-RPC error text for a prompt argument that should name an insight and cannot."""
    return f"{_show(value)} is not an insight id: give its short_id (letters and digits) or its numeric id."


def unknown_completion(ref: str) -> str:
    """The JSON-RPC error text for a completion of something this server does not offer (echoed in part)."""
    return (
        f"Nothing to complete for {_show(ref)}: this server completes its prompts' arguments and the insight template."
    )


def invalid_list_cursor() -> str:
    """The JSON-RPC error text for an MCP list cursor this server did not issue."""
    return "Invalid cursor: pass the nextCursor of the previous list result unchanged, or none."


def scope_missing(tool: str, scope: str, granted: Iterable[str]) -> ToolError:
    """A tool refused before any request because the key lacks its scope."""
    has = ", ".join(sorted(granted)) or "none"
    return Refused(
        f"{tool} needs the API key scope '{scope}', which this key does not have (it has: {has}). "
        f"Add '{scope}' to the key in {KEYS_PAGE}, or use a key that has it. Nothing was sent to PostHog.",
        f"the key lacks the scope '{scope}'",
    )


def legacy_key_only(tool: str) -> ToolError:
    """One of the two endpoints PostHog refuses to every scoped key, refused before any request."""
    return Refused(
        f"{tool}: PostHog refuses this endpoint to every scoped personal API key, even an all-access one; "
        "only a legacy unscoped key can call it. Nothing was sent to PostHog.",
        "PostHog serves them only to legacy unscoped keys",
    )


def read_only(tool: str) -> ToolError:
    """A write tool called while the server is read-only."""
    return Refused(
        f"{tool} changes data, and this server runs read-only (--read-only or POSTHOG_MCP_READ_ONLY). "
        "Nothing was sent to PostHog.",
        "they change data and the server is read-only",
    )


def not_allowed(tool: str) -> ToolError:
    """A tool left out by the allow-list."""
    return Refused(
        f"{tool} is not in this server's allow-list (--tools or POSTHOG_MCP_TOOLS). Nothing was sent to PostHog.",
        "not in the allow-list (--tools)",
    )


def not_in_toolsets(tool: str, toolset: str) -> ToolError:
    """A tool whose toolset the configuration does not choose."""
    return Refused(
        f"{tool} is in the toolset '{toolset}', which this server does not offer: add it to --toolsets or "
        "POSTHOG_MCP_TOOLSETS (or name the tool in --tools). Nothing was sent to PostHog.",
        f"in the toolset '{toolset}', which --toolsets does not choose",
    )


def no_tool_left(left_out: dict[str, list[str]]) -> str:
    """The start-up refusal of a configuration that offers no tool, by reason."""
    groups = sorted(left_out.items(), key=lambda group: len(group[1]))
    reasons = "; ".join(
        f"{', '.join(names) if len(names) <= 3 else f'{len(names)} other tools'} {'is' if len(names) == 1 else 'are'} "
        f"left out: {reason}"
        for reason, names in groups
    )
    return (
        f"This configuration offers no tool at all: {reasons}. Name other tools in --tools / POSTHOG_MCP_TOOLS, "
        "choose other --toolsets, or drop --read-only."
    )


def no_api_key() -> ToolError:
    """A call with no PostHog key to make it with."""
    return Refused("No PostHog API key is configured: set POSTHOG_PERSONAL_API_KEY.")


def no_request_key() -> ToolError:
    """An HTTP request, on a server of per-user keys, that carries none."""
    return Refused("This request carries no PostHog personal API key: send it in X-PostHog-Api-Key.")


def no_project() -> ToolError:
    """No project id configured and none could be worked out from the key."""
    return Unconfigured(
        "No PostHog project is selected, and the API key does not name one: set POSTHOG_PROJECT_ID to the "
        "project's numeric id (shown in PostHog under Settings > Project, and in app URLs /project/<id>/)."
    )


def no_api_key_at_start() -> str:
    """The start-up refusal of a server that has no PostHog key and takes none per request."""
    return (
        "No PostHog API key. Set POSTHOG_PERSONAL_API_KEY to a personal API key (phx_..., created in PostHog "
        "under Settings > Personal API keys), or run with --sandbox to try the server on demo data."
    )


def cli_arguments_not_json(exc: json.JSONDecodeError) -> str:
    """The command line's `call` arguments that do not parse."""
    return f"the arguments are not valid JSON ({exc.msg} at character {exc.pos})."


def cli_arguments_not_object() -> str:
    """The command line's `call` arguments that parse to something other than an object."""
    return "the arguments must be a JSON object, like '{\"limit\": 5}'."


def unusable_sandbox_db(path: str | None, exc: Exception) -> str:
    """The start-up refusal of a sandbox database file that cannot be opened as one."""
    return f"--sandbox-db {path}: {exc}. Delete it or choose another file."


def exposed_without_token(host: str) -> str:
    """The start-up refusal of a bind beyond this machine with no bearer token."""
    return (
        f"Binding to {host} exposes the server beyond this machine, so a bearer token is required: "
        "set POSTHOG_MCP_AUTH_TOKEN (for example to the output of `openssl rand -hex 32`)."
    )


def exposed_without_hosts(host: str) -> str:
    """The start-up refusal of a bind beyond this machine with no allowed host names."""
    return (
        f"Binding to {host} needs the host names clients will use, against DNS rebinding: set "
        "POSTHOG_MCP_ALLOWED_HOSTS (e.g. mcp.example.com,mcp.example.com:8000) and, for browser clients, "
        "POSTHOG_MCP_ALLOWED_ORIGINS."
    )


def not_served_here(endpoint: str) -> str:
    """The HTTP 404 detail for a path that is not an MCP endpoint."""
    return f"MCP is served at {endpoint}."


def unknown_host() -> str:
    """The HTTP 421 detail for a Host header the server does not answer to."""
    return "This server does not answer to that Host; if it is yours, add it to POSTHOG_MCP_ALLOWED_HOSTS."


def unknown_origin() -> str:
    """The HTTP 403 detail for a browser Origin the server does not allow."""
    return "Requests from that Origin are refused; if it is yours, add it to POSTHOG_MCP_ALLOWED_ORIGINS."


def token_required() -> str:
    """The HTTP 401 detail for a request without the server's bearer token."""
    return "Send the server's token as `Authorization: Bearer <POSTHOG_MCP_AUTH_TOKEN>`."


def request_key_required(*, bearer_accepted: bool) -> str:
    """The HTTP 401 detail for a request carrying no PostHog key, on a server of per-user keys."""
    where = "the X-PostHog-Api-Key header"
    if bearer_accepted:
        where += " (or Authorization: Bearer phx_...)"
    return f"This server uses each user's own PostHog personal API key: send it in {where}."


def unusable_request_key(character: str) -> str:
    """The HTTP 401 detail for a key holding a character no PostHog key holds (the key is never echoed)."""
    return (
        f"The PostHog key this request carries contains {character}, which PostHog keys never hold: copy the "
        f"key again from {KEYS_PAGE} and send it in X-PostHog-Api-Key."
    )


# PostHog's details are a sentence or two; anything longer is not worth the agent's tokens.
DETAIL_LIMIT = 500


def _request_id(exc: PostHogError) -> str:
    return f" (PostHog request id {exc.request_id})" if exc.request_id else ""


def _quoted(exc: PostHogError, fallback: str) -> str:
    """PostHog's detail (or `fallback`) and the request id, ready for the caller's full stop."""
    detail = exc.detail.strip().removesuffix(".") or fallback
    if len(detail) > DETAIL_LIMIT:
        detail = detail[: DETAIL_LIMIT - 1] + "…"
    return detail + _request_id(exc)


def from_posthog(exc: PostHogError, target: Target) -> ToolError:
    """PostHog's error answer, in words that say what to do next."""
    detail = exc.detail.strip()
    suffix = _request_id(exc)
    status = exc.status
    if status == 400:
        field = f" in field '{exc.attr}'" if exc.attr else ""
        return PostHogRefusal(f"PostHog rejected the request{field}: {_quoted(exc, 'bad request')}. Fix the arguments.")
    if exc.auth_failed:
        return PostHogRefusal(
            "PostHog rejected the API key: it is invalid, expired or revoked. Create a personal API key "
            f"in {KEYS_PAGE} and {KEY_FIXES[target.key_source]}."
        )
    if status == 403:
        scope = MISSING_SCOPE.search(detail)
        if scope:
            return PostHogRefusal(
                f"The API key lacks the scope '{scope.group(1)}' that {target.tool} needs (PostHog answered 403). "
                f"Add the scope to the key in {KEYS_PAGE}, or use a key that has it."
            )
        if NO_API_KEY_ACCESS in detail.lower():
            return PostHogRefusal(
                f"PostHog refuses {target.tool}'s endpoint to every scoped personal API key, even an all-access "
                'one (403: "This action does not support Personal API Key access"). Only a legacy unscoped key '
                "can call it."
            )
        return PostHogRefusal(f"PostHog refused {target.tool} (403): {_quoted(exc, 'permission denied')}.")
    if status == 404:
        if target.item_id is not None and "project" not in detail.lower():
            return NotFound(
                f"{target.noun.capitalize()} {target.item_id} was not found in project {target.project_id}: "
                f"it may have been deleted or belong to another project. Find it with {target.noun}s-list.",
            )
        return PostHogRefusal(
            f"PostHog answered 404 for project {target.project_id}: the project does not exist or the key "
            "cannot access it. Check POSTHOG_PROJECT_ID."
        )
    if status == 429:
        when = f"in {_seconds(exc.retry_after)}" if exc.retry_after is not None else "in a minute"
        return PostHogRefusal(f"PostHog is rate-limiting this API key (429). Retry {target.tool} {when}.{suffix}")
    if status in QUERY_FAILURES:
        advice = "" if exc.method in SAFE_METHODS else f" {_recheck_advice(target)}"
        return PostHogFailure(
            f"PostHog could not run the query behind {target.tool} ({status}): "
            f"{_quoted(exc, 'it took too long or needed too much memory')}. Retrying the same query will not help: "
            f"narrow it (a shorter date range, fewer series, breakdowns or filters) and try again.{advice}"
        )
    if status >= 500:
        advice = "Retry later."
        if exc.method not in SAFE_METHODS:
            advice = _recheck_advice(target)
        return PostHogFailure(f"PostHog had an internal error ({status}) on {target.tool}{suffix}. {advice}")
    if 300 <= status < 400:
        where = f" to {exc.location}" if exc.location else ""
        return PostHogFailure(
            f"PostHog answered with a redirect ({status}){where}. Set POSTHOG_HOST to the host PostHog redirects "
            "to (for example https://us.posthog.com or https://eu.posthog.com)."
        )
    failure = PostHogRefusal if 400 <= status < 500 else PostHogFailure
    return failure(f"PostHog answered {status} to {target.tool}: {_quoted(exc, 'no detail given')}.")


def _seconds(seconds: float) -> str:
    """A wait in the largest unit that reads naturally, rounded up so that a retry is never early."""
    whole = max(1, math.ceil(seconds))
    for unit, size in (("hour", 3600), ("minute", 60)):
        if whole >= 2 * size:
            return f"{math.ceil(whole / size)} {unit}s"
    return "1 second" if whole == 1 else f"{whole} seconds"


def _recheck_advice(target: Target) -> str:
    check = f" with {target.recheck_with}" if target.recheck_with else ""
    return f"The write was not repeated automatically: check{check} whether it took effect before trying again."


def unreachable(exc: PostHogUnreachable, target: Target) -> ToolError:
    """No answer from PostHog within the time allowed, or no connection at all."""
    if exc.reason == "deadline":
        allowed = f" ({exc.seconds:.0f} s)" if exc.seconds is not None else ""
        what = f"did not finish within the time allowed for one call{allowed}"
    elif exc.reason == "timeout":
        what = "did not answer in time"
    else:
        what = f"could not be reached at {target.host} ({exc.reason})"
    if exc.may_have_applied:
        return PostHogFailure(f"PostHog {what} during {target.tool}. {_recheck_advice(target)}")
    return PostHogFailure(
        f"PostHog {what} during {target.tool}. Nothing was changed; retry later, and check POSTHOG_HOST "
        "and the network if it keeps failing."
    )


def malformed(exc: MalformedReply, target: Target) -> ToolError:
    """A success answer whose body is not JSON, or is nested too deeply to read."""
    body = "JSON nested too deeply to read" if exc.too_deep else "not JSON"
    return PostHogFailure(
        f"PostHog answered {target.tool} with status {exc.status} but a body that is {body}. "
        f"Check that POSTHOG_HOST ({target.host}) is a PostHog instance."
    )


def reply_too_large(exc: ReplyTooLarge, target: Target) -> ToolError:
    """A success answer longer than the most this server reads from PostHog."""
    limit = f"larger than {exc.cap:,} bytes, the most this server reads (POSTHOG_MCP_MAX_REPLY or --max-reply)"
    if exc.method not in SAFE_METHODS:
        check = f" with {target.recheck_with}" if target.recheck_with else ""
        return PostHogFailure(
            f"PostHog accepted {target.tool}, but its answer is {limit}, so it was not read. "
            f"Do not repeat the call: check{check} what it changed."
        )
    return PostHogFailure(
        f"PostHog's answer to {target.tool} is {limit}, so reading stopped there. Ask for less (a smaller limit, "
        "narrower filters, or a query over a shorter date range with fewer series and breakdowns), "
        "or raise POSTHOG_MCP_MAX_REPLY."
    )


def no_progress() -> str:
    """The note ending a list whose page PostHog sent empty while saying more items follow."""
    return "PostHog said more items follow but sent none, so the list ends here; some items may be missing."


def stale(age: str, interval: str) -> str:
    """The note on results computed longer ago than one interval of their query."""
    return (
        f"Computed {age} ago, more than one {interval} (the query's interval): "
        "run it with refresh=blocking for fresh numbers."
    )


def page_cut(kept: int, total: int, budget: int, paged: bool, hint: str) -> str:
    """The note on a page cut by the response budget: how many items fit, and how to get the rest."""
    if paged:
        rest = "pass next_cursor as cursor to continue from the first one left out."
    else:
        rest = f"this list has no further pages. {hint}"
    return f"Only the first {kept} of the {total} items fit the response budget of {budget} characters; {rest}"


def shortened(budget: int, cuts: list[str], dropped: list[str], more: int, hint: str) -> str:
    """The note on a result cut to the response budget: fields shortened, fields dropped (and how many more)."""
    cuts = list(cuts)
    if dropped:
        rest = f" and {more} more fields" if more > 0 else ""
        cuts.append(f"dropped {', '.join(dropped)}{rest}")
    done = f" ({'; '.join(cuts)})" if cuts else ""
    return f"Shortened to fit the response budget of {budget} characters{done}. {hint}".rstrip()


def unknown_event(event: str, close: list[str], listed: int, total: int | None, complete: bool) -> str:
    """The warning on an event that counted zero and that the project's event definitions do not hold."""
    if complete:
        said = f"Event '{event}' has never been seen in this project, so it counts zero."
    else:
        of = f" of {total}" if total is not None else ""
        said = f"Event '{event}' counts zero and is not among the first {listed}{of} event names."
    if close:
        return f"{said} Closest known: {', '.join(close)}."
    return f"{said} No known event name is close; event-definitions-list searches them."


def unexpected_reply(tool: str, expected: str) -> ToolError:
    """A JSON answer of a shape PostHog does not send for this endpoint."""
    return PostHogFailure(f"PostHog's answer to {tool} was not {expected} as expected. Check POSTHOG_HOST.")


def internal(tool: str, exc: BaseException) -> ToolError:
    """A bug in this server: said plainly, never as a protocol error."""
    return InternalError(
        f"posthog-mcp failed internally while running {tool} ({type(exc).__name__}). "
        "This is a bug; the details are in the server's log."
    )


def redact(text: str, secrets: Iterable[str]) -> str:
    """The text with every echo of a secret replaced, so that no key ever reaches a result or a log line.

    An echo is any run of at least ECHO_RUN characters of the secret (all of a shorter one), as it is, URL-encoded
    or JSON-escaped: a server or proxy that echoes a key may encode it, cut it, or both.
    """
    fragments = _fragments(tuple(secret for secret in secrets if len(secret) >= 8))
    if not fragments:
        return text
    # Percent-escapes compared in one case; the copy keeps every position of the text.
    views = {text, PERCENT_ESCAPE.sub(lambda escape: escape.group().upper(), text)}
    spans = []
    for view in views:
        for fragment in fragments:
            start = view.find(fragment)
            while start != -1:
                spans.append((start, start + len(fragment)))
                start = view.find(fragment, start + 1)
    pieces: list[str] = []
    cursor = 0
    for start, end in sorted(spans):
        if start > cursor or not pieces:
            pieces += [text[cursor:start], "[redacted]"]
        cursor = max(cursor, end)
    return "".join(pieces) + text[cursor:]


@functools.lru_cache(maxsize=256)
def _fragments(secrets: tuple[str, ...]) -> frozenset[str]:
    fragments: set[str] = set()
    for secret in secrets:
        for form in {secret, quote(secret, safe=""), quote(secret), quote_plus(secret), json.dumps(secret)[1:-1]}:
            run = min(ECHO_RUN, len(form))
            fragments.update(form[start : start + run] for start in range(len(form) - run + 1))
    return frozenset(fragments)
