"""Handlers invoked in process, as Lambda would, against the local stack's moto server.

The fixtures (`lambda_env`, `invoke`) live in tests/conftest.py; the reliability suite uses them too.
"""

from tests.conftest import EVENTS, load_event, template_functions

__all__ = ["EVENTS", "load_event", "template_functions"]
