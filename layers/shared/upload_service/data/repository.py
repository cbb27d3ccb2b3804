"""The repository: every item kind's store over the one table (see `upload_service.data`).

A function that needs one kind can use that store alone; this class gathers them for the callers
that use several.
"""

from __future__ import annotations

from upload_service.data.claims import EventClaims
from upload_service.data.delivery import DeliveryStore
from upload_service.data.items import token_key, upload_key
from upload_service.data.multipart import MultipartStore
from upload_service.data.rate_windows import RateWindow, RateWindows
from upload_service.data.table import default_store
from upload_service.data.tokens import TokenChanged, TokenIdTaken
from upload_service.data.uploads import UploadDecided

__all__ = [
    "RateWindow",
    "Repository",
    "TokenChanged",
    "TokenIdTaken",
    "UploadDecided",
    "default_repository",
    "token_key",
    "upload_key",
]


class Repository(MultipartStore, DeliveryStore, EventClaims, RateWindows):
    """Tokens and their counters, uploads (multipart ones too, and their delivery), event claims and
    rate windows."""


def default_repository() -> Repository:
    """The process's repository over the configured table (one store cache: `default_store`)."""
    repository: Repository = default_store(Repository)
    return repository
