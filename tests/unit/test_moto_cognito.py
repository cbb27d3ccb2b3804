"""Cognito's sign-in tokens live as long as their app client says (local_stack/moto_fixes/cognito.py):
moto gave every ID and access token an hour."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import jwt
import pytest
from moto import mock_aws

from local_stack.moto_fixes.cognito import tokens_live_as_their_client_says

PASSWORD = "Test-password-123"


@pytest.fixture
def cognito(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # in process, not a running stack's server
    with tokens_live_as_their_client_says.held(), mock_aws():
        client = boto3.client("cognito-idp", region_name="us-east-1")
        pool = client.create_user_pool(PoolName="p")["UserPool"]["Id"]
        client.admin_create_user(UserPoolId=pool, Username="u", MessageAction="SUPPRESS")
        client.admin_set_user_password(UserPoolId=pool, Username="u", Password=PASSWORD, Permanent=True)
        yield client, pool


def signed_in(cognito: tuple[Any, str], **settings: Any) -> tuple[dict[str, Any], Any, str]:
    client, pool = cognito
    client_id = client.create_user_pool_client(
        UserPoolId=pool, ClientName="c", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"], **settings
    )["UserPoolClient"]["ClientId"]
    result = client.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "u", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    return result, client, client_id


def lifetime(token: str) -> int:
    claims = jwt.decode(token, options={"verify_signature": False})
    return int(claims["exp"]) - int(claims["iat"])


def test_tokens_live_as_the_client_says(cognito: tuple[Any, str]) -> None:
    result, client, client_id = signed_in(
        cognito,
        IdTokenValidity=5,
        AccessTokenValidity=7,
        TokenValidityUnits={"IdToken": "minutes", "AccessToken": "minutes"},
    )

    assert lifetime(result["IdToken"]) == 300
    assert lifetime(result["AccessToken"]) == 420
    assert result["ExpiresIn"] == 420  # the access token's, as Cognito answers

    refreshed = client.initiate_auth(
        ClientId=client_id,
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": result["RefreshToken"]},
    )["AuthenticationResult"]
    assert (lifetime(refreshed["IdToken"]), lifetime(refreshed["AccessToken"])) == (300, 420)


def test_without_units_validity_is_in_hours_and_without_validity_an_hour(cognito: tuple[Any, str]) -> None:
    hours, _, _ = signed_in(cognito, IdTokenValidity=2)
    assert (lifetime(hours["IdToken"]), lifetime(hours["AccessToken"])) == (7200, 3600)

    default, _, _ = signed_in(cognito)
    assert (lifetime(default["IdToken"]), default["ExpiresIn"]) == (3600, 3600)
