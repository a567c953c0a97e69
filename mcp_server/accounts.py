"""One PostHog API key's view of PostHog: its scopes and its project, looked up lazily and cached."""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable

import anyio

from mcp_server import errors
from mcp_server.access import EVERYTHING, Grant
from mcp_server.posthog import MalformedReply, PostHogClient, PostHogError, PostHogUnreachable

log = logging.getLogger(__name__)

KEY_PATH = "/api/personal_api_keys/@current/"
ME_PATH = "/api/users/@me/"
RETRY_FAILED_LOOKUP_AFTER = 60.0


class Account:
    """A PostHog API key, with the scopes and project that come with it."""

    def __init__(
        self, key: str, client: PostHogClient, project_id: int | None = None, source: errors.KeySource = "settings"
    ) -> None:
        self.key = key
        self.source = source
        self.client = client
        self._project_id = project_id
        self._grant: Grant | None = None
        self._grant_retry_at = 0.0
        self._lock = anyio.Lock()

    async def grant(self) -> Grant:
        """The key's scopes; if PostHog cannot say, everything (and PostHog's own 403s speak)."""
        async with self._lock:
            if self._grant is not None and (self._grant is not EVERYTHING or time.monotonic() < self._grant_retry_at):
                return self._grant
            try:
                info = await self.client.request("GET", KEY_PATH, key=self.key)
                self._grant = Grant.from_key(info if isinstance(info, dict) else {})
            except (PostHogError, PostHogUnreachable, MalformedReply) as exc:
                log.warning("Could not look up the API key's scopes (%s); no tools are hidden", exc)
                self._grant = EVERYTHING
                self._grant_retry_at = time.monotonic() + RETRY_FAILED_LOOKUP_AFTER
            return self._grant

    async def project_id(self) -> int:
        """The project every call works on: configured, else the key's only project, else the owner's current one."""
        if self._project_id is not None:
            return self._project_id
        grant = await self.grant()
        if len(grant.scoped_teams) == 1:
            self._project_id = grant.scoped_teams[0]
            return self._project_id
        target = errors.Target(
            "the project look-up", "project", None, host=self.client.base_url, key_source=self.source
        )
        try:
            me = await self.client.request("GET", ME_PATH, key=self.key)
        except PostHogError as exc:
            # Only a refusal of users/@me (a key without user:read) means the project must be configured.
            if exc.auth_failed or exc.status not in (403, 404):
                raise errors.from_posthog(exc, target) from None
            raise errors.no_project() from None
        except PostHogUnreachable as exc:
            raise errors.unreachable(exc, target) from None
        except MalformedReply as exc:
            raise errors.malformed(exc, target) from None
        team = me.get("team") if isinstance(me, dict) else None
        project = team.get("project_id") or team.get("id") if isinstance(team, dict) else None
        if not isinstance(project, int):
            raise errors.no_project()
        log.info("Working on project %d, the key owner's current project; set POSTHOG_PROJECT_ID to pin it", project)
        self._project_id = project
        return project


def key_digest(key: str) -> str:
    """How a key is remembered: never the key itself."""
    return hashlib.sha256(key.encode()).hexdigest()


class AccountCache:
    """Accounts of per-request keys, by a hash of the key, bounded in size and age."""

    def __init__(
        self,
        make: Callable[[str], Account],
        *,
        max_size: int = 256,
        ttl: float = 900.0,
    ) -> None:
        self._make = make
        self._max_size = max_size
        self._ttl = ttl
        self._entries: OrderedDict[str, tuple[float, Account]] = OrderedDict()

    def get(self, key: str) -> Account:
        """The account for a key, made afresh when unknown or expired."""
        digest = key_digest(key)
        now = time.monotonic()
        entry = self._entries.get(digest)
        if entry is not None and entry[0] > now:
            self._entries.move_to_end(digest)
            return entry[1]
        account = self._make(key)
        self._entries[digest] = (now + self._ttl, account)
        self._entries.move_to_end(digest)
        while len(self._entries) > self._max_size:
            self._entries.popitem(last=False)
        return account
