"""The api.video API key, from Secrets Manager through Powertools' Parameters utility (cached).

The secret (template parameter `ApiVideoApiKeySecret`) holds the API key as a plain string
(`SecretString`, no JSON around it). Never put the key in an environment variable, a log or an event.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

#: Seconds the key is cached in the process; a rotated key is picked up within this time.
KEY_MAX_AGE_SECONDS = 300


class ApiKeyUnavailable(Exception):
    """The secret could not be read. Its message is fixed; Secrets Manager's own (chained, for the
    logs) names the account, the role and the secret."""

    def __init__(self) -> None:
        super().__init__("the API key could not be read")


def api_key(secret_name: str) -> str:
    """The API key held by the secret `secret_name` (a name or an ARN)."""
    try:
        value = parameters.get_secret(secret_name, max_age=KEY_MAX_AGE_SECONDS)
    except GetParameterError as exc:
        raise ApiKeyUnavailable() from exc
    key = value.decode() if isinstance(value, bytes) else str(value)
    return key.strip()
