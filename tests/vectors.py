"""One loader for the official-SDK known-answer vectors in ``../shared/wc-vectors/``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def vectors_dir() -> Path:
    """Where the vectors live: ``$WC_VECTORS_DIR`` or ``../shared/wc-vectors`` beside the checkout."""
    env = os.environ.get("WC_VECTORS_DIR")
    if env:
        return Path(env)
    for candidate in (ROOT.parent / "shared" / "wc-vectors", ROOT / "shared" / "wc-vectors"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("wc-vectors not found beside the checkout (../shared/wc-vectors)")


def load(name: str) -> Any:
    """Load one vector file by its base name, e.g. ``load("envelope-type0")``."""
    return json.loads((vectors_dir() / f"{name}.json").read_text(encoding="utf-8"))
