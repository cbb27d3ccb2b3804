"""Upload-token ids: generation, shape, and what logs may show of one."""

from __future__ import annotations

import re
import secrets
import string

TOKEN_ALPHABET = string.digits + string.ascii_letters
TOKEN_PATTERN = re.compile(r"to[0-9A-Za-z]{22}")


def generate_token() -> str:
    """`to` + 22 base62 characters from a CSPRNG (about 131 bits)."""
    return "to" + "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(22))


def is_token_id(value: str) -> bool:
    return bool(TOKEN_PATTERN.fullmatch(value))


def mask(token: str) -> str:
    """What logs may show of a token: enough to correlate, too little to use."""
    return token[:6] + "…" if len(token) > 6 else "…"
