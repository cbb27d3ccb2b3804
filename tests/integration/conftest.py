"""Handlers invoked in process, as Lambda would, against the local stack's moto server.

The fixtures (`lambda_env`, `invoke`) live in tests/conftest.py; the reliability suite uses them too.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime

from local_stack.iam.acting import running_as
from tests.conftest import EVENTS, load_event, template_functions
from upload_service.core.config import Settings
from upload_service.core.storage import Storage
from upload_service.data.repository import Repository
from upload_service.uploads import expiry

__all__ = ["EVENTS", "clean_up_all", "load_event", "template_functions"]


def clean_up_all(
    repo: Repository, storage: Storage, settings: Settings, now: datetime
) -> expiry.CleanupReport:
    """The cleanup, run until it has nothing left to do at `now`. Every test of a session shares one
    table, so a single run (`cleanup_batch_size` of each kind, oldest first) may not reach the items
    of the test that runs it: how far it gets would depend on which tests ran before. Its calls are
    the cleanup function's, judged by its role (local_stack/iam)."""
    total = expiry.CleanupReport()
    while True:
        with running_as("CleanupFunction"):
            report = expiry.clean_up(repo, storage, settings, now)
        for field in fields(report):
            if field.name != "more":
                setattr(total, field.name, getattr(total, field.name) + getattr(report, field.name))
        if not report.more:
            return total
