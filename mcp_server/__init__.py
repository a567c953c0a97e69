"""posthog-mcp: a Model Context Protocol server for PostHog insights and autocapture elements."""

import sys

if sys.version_info < (3, 11):  # noqa: UP036 - must run, and explain, on an older Python
    sys.exit(
        f"posthog-mcp needs Python 3.11 or newer, but was started with Python {sys.version_info[0]}."
        f"{sys.version_info[1]} ({sys.executable}). Install Python 3.11+ (python.org, or "
        "`uv python install 3.11`) and start it with that."
    )

__version__ = "0.1.0"
