"""Claude token counts, offline, with the pinned @anthropic-ai/tokenizer (scripts/node).

The tokenizer predates current Claude models, so its counts are approximate; they serve to compare texts.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

NODE_TOOLS = Path(__file__).resolve().parent.parent / "scripts" / "node"


class TokenizerMissing(RuntimeError):
    """Node or npm is not on this machine."""


class Tokens:
    """Counts tokens for many texts in one Node process per batch, remembering each text's count."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._ready = False

    def _ensure(self) -> None:
        if self._ready:
            return
        if shutil.which("node") is None or shutil.which("npm") is None:
            raise TokenizerMissing("counting tokens needs Node.js and npm on PATH (the tokenizer is an npm package)")
        subprocess.run([str(NODE_TOOLS / "ensure")], check=True, stdout=subprocess.DEVNULL)
        self._ready = True

    def prepare(self, texts: Iterable[str]) -> None:
        """Count every text not yet counted, in one batch."""
        todo = sorted({text for text in texts if text not in self._counts})
        if not todo:
            return
        self._ensure()
        done = subprocess.run(
            ["node", str(NODE_TOOLS / "tokens.mjs")],
            input=json.dumps(todo),
            capture_output=True,
            text=True,
            check=True,
            cwd=NODE_TOOLS,
        )
        self._counts.update(zip(todo, json.loads(done.stdout), strict=True))

    def count(self, text: str) -> int:
        """The count for one text (counted now if it was not prepared)."""
        self.prepare([text])
        return self._counts[text]
