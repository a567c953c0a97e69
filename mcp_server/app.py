"""Wiring: settings become one shared PostHog client, the adapter, and the accounts that call through them."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import httpx

from mcp_server import access, errors
from mcp_server.accounts import Account, AccountCache
from mcp_server.backend import Backend
from mcp_server.catalog import Tool
from mcp_server.config import ConfigError, Settings
from mcp_server.posthog import PostHogClient, RetryPolicy


@dataclass
class App:
    """One running server's parts, shared by every session and transport."""

    settings: Settings
    client: PostHogClient
    backend: Backend
    tools: tuple[Tool, ...]
    default_account: Account | None
    accounts: AccountCache | None = None
    calls_in_flight: int = 0

    @classmethod
    def create(
        cls,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        **client_options: Any,
    ) -> App:
        """Build the parts; `transport` replaces the network (the sandbox, or a test's mock)."""
        base_url = settings.posthog_host
        if settings.sandbox and transport is None:
            from mcp_server.sandbox import embedded_transport

            try:
                transport = embedded_transport(settings.sandbox_db)
            except (ValueError, sqlite3.Error) as exc:
                raise ConfigError(errors.unusable_sandbox_db(settings.sandbox_db, exc)) from None
        # One call may wait a whole read timeout and still retry once within its deadline.
        client_options.setdefault("policy", RetryPolicy(deadline=max(RetryPolicy.deadline, settings.timeout + 30)))
        client = PostHogClient(
            base_url, timeout=settings.timeout, max_reply=settings.max_reply, transport=transport, **client_options
        )
        backend = Backend(settings.posthog_host, settings.response_budget)
        default_account = None
        if settings.api_key:
            default_account = Account(settings.api_key, client, settings.project_id)
        accounts = None
        if settings.per_request_keys:
            accounts = AccountCache(lambda key: Account(key, client, settings.project_id, "request"))
        return cls(settings, client, backend, access.configured_tools(settings), default_account, accounts)

    def secrets(self) -> list[str]:
        """Strings that must never appear in a result or a log line."""
        return [secret for secret in (self.settings.api_key, self.settings.auth_token) if secret]

    async def aclose(self) -> None:
        """Release the connection pool."""
        await self.client.aclose()
