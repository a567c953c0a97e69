"""The sandbox's own endpoints under /_sandbox/: health, fault injection, the request log and element rows
with their ids (PostHog's API never gives an element's id out). No key needed."""

from __future__ import annotations

import json
from dataclasses import asdict

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mcp_server.sandbox.keys import DEMO_KEYS, DEMO_PROJECT_ID
from mcp_server.sandbox.state import Sandbox


def routes(sandbox: Sandbox) -> list[Route]:
    """The control routes bound to one sandbox."""

    async def health(request: Request) -> Response:
        return JSONResponse(
            {"status": "ok", "project_id": DEMO_PROJECT_ID, "keys": {name: k.key for name, k in DEMO_KEYS.items()}}
        )

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            sandbox.faults.clear()
            return Response(status_code=204)
        if request.method == "GET":
            return JSONResponse([asdict(fault) for fault in sandbox.faults.active()])
        try:
            options = json.loads(await request.body())
            if not isinstance(options, dict):
                raise ValueError("the body must be a JSON object")
            kind = options.pop("kind", None)
            if not isinstance(kind, str):
                raise ValueError("kind is required")
            fault = sandbox.faults.add(kind, **options)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"detail": str(exc)}, status_code=400)
        return JSONResponse(asdict(fault), status_code=201)

    async def requests(request: Request) -> Response:
        if request.method == "DELETE":
            sandbox.requests.clear()
            return Response(status_code=204)
        return JSONResponse(sandbox.requests.entries())

    async def elements(request: Request) -> Response:
        text = request.query_params.get("text")
        rows, _ = sandbox.store.elements()
        return JSONResponse([row for row in rows if text is None or row["text"] == text])

    return [
        Route("/_sandbox/health", health, methods=["GET"]),
        Route("/_sandbox/elements", elements, methods=["GET"]),
        Route("/_sandbox/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/requests", requests, methods=["GET", "DELETE"]),
    ]
