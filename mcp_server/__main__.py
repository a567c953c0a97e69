"""`python -m mcp_server`: the same as the `posthog-mcp` command."""

import sys

from mcp_server.cli import main

sys.exit(main())
