"""A faithful local PostHog for the insight and element endpoints, with demo data, demo keys and fault injection.

Where it differs from PostHog, and why, is listed in README.md under "How the sandbox differs from PostHog".
"""

from mcp_server.sandbox.app import create_app, embedded_transport
from mcp_server.sandbox.keys import DEMO_KEYS, DEMO_PROJECT_ID, LEGACY_KEY, DemoKey

__all__ = ["DEMO_KEYS", "DEMO_PROJECT_ID", "LEGACY_KEY", "DemoKey", "create_app", "embedded_transport"]
