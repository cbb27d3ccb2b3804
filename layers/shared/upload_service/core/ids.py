"""Upload-token ids: generation, shape, and what logs may show of one."""

from __future__ import annotations

import hashlib
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


def token_ref(token: str) -> str:
    """A token's public reference: where its records are keyed, what other items and events name.

    SHA-256 of a 131-bit random secret cannot be turned back into the token, so the reference is no
    credential: holding it lets nobody upload. The token string itself lives only in its own record.
    """
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def mask(token: str) -> str:
    """What logs may show of a token: enough to correlate, too little to use."""
    return token[:6] + "…" if len(token) > 6 else "…"
