"""API Gateway's JWT checks, as the local API makes them: every attack is a 401 before any function runs."""

from __future__ import annotations

import base64
import gzip
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import moto.cognitoidp
import pytest
import requests
from cryptography.hazmat.primitives import serialization

from tests.conftest import PASSWORD, Stack, User, running_stack, sign_in

MOTO_KEYS = Path(moto.cognitoidp.__file__).parent / "resources"


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def emulator_private_key() -> Any:
    """The emulator's signing key (every moto pool shares it): lets a test mint a validly signed JWT."""
    jwk = json.loads(gzip.decompress((MOTO_KEYS / "jwks-private.json.gz").read_bytes()))
    return jwt.PyJWK(jwk).key


def public_pem() -> bytes:
    jwk = json.loads(gzip.decompress((MOTO_KEYS / "jwks-public.json.gz").read_bytes()))["keys"][0]
    return jwt.PyJWK(jwk).key.public_bytes(  # type: ignore[no-any-return]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def signed(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, emulator_private_key(), algorithm="RS256", headers={"kid": "dummy"})


def _missing(user: User, stack: Stack) -> str | None:
    return None


def _garbage(user: User, stack: Stack) -> str:
    return "Bearer not-a-jwt"


def _tampered_signature(user: User, stack: Stack) -> str:
    header, payload, signature = user.id_token.split(".")
    flipped = ("A" if signature[10] != "A" else "B").join([signature[:10], signature[11:]])
    return f"Bearer {header}.{payload}.{flipped}"


def _tampered_claims(user: User, stack: Stack) -> str:
    header, _, signature = user.id_token.split(".")
    claims = claims_of(user.id_token) | {"cognito:groups": ["admins"]}
    return f"Bearer {header}.{b64(claims)}.{signature}"


def _alg_none(user: User, stack: Stack) -> str:
    return f"Bearer {b64({'alg': 'none', 'typ': 'JWT', 'kid': 'dummy'})}.{b64(claims_of(user.id_token))}."


def _hs256_with_public_key(user: User, stack: Stack) -> str:
    forged = jwt.api_jws.PyJWS()
    forged._algorithms["HS256"].prepare_key = lambda key: key  # type: ignore[method-assign]  # skip PyJWT's guard
    payload = json.dumps(claims_of(user.id_token)).encode()
    token = forged.encode(payload, public_pem(), algorithm="HS256", headers={"kid": "dummy"})
    return f"Bearer {token}"


def _expired(user: User, stack: Stack) -> str:
    claims = claims_of(user.id_token) | {"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}
    return f"Bearer {signed(claims)}"


def _not_yet_valid(user: User, stack: Stack) -> str:
    claims = claims_of(user.id_token) | {"nbf": int(time.time()) + 3600}
    return f"Bearer {signed(claims)}"


def _wrong_issuer(user: User, stack: Stack) -> str:
    """A real token of another user pool: same emulator key, different `iss`."""
    cognito = stack.client("cognito-idp")
    pool = cognito.create_user_pool(PoolName="elsewhere")["UserPool"]["Id"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool, ClientName="elsewhere", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    cognito.admin_create_user(UserPoolId=pool, Username=user.username, MessageAction="SUPPRESS")
    cognito.admin_set_user_password(
        UserPoolId=pool, Username=user.username, Password=PASSWORD, Permanent=True
    )
    return "Bearer " + sign_in(stack, user.username, PASSWORD, client_id=client)["IdToken"]


def _wrong_audience(user: User, stack: Stack) -> str:
    """A real token of the right pool, issued to another app client."""
    client = stack.client("cognito-idp").create_user_pool_client(
        UserPoolId=stack.info["userPoolId"],
        ClientName="other-app",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"],
    )["UserPoolClient"]["ClientId"]
    return "Bearer " + sign_in(stack, user.username, PASSWORD, client_id=client)["IdToken"]


def _wrong_client_id_access_token(user: User, stack: Stack) -> str:
    claims = claims_of(user.access_token) | {"client_id": "someone-else"}
    return f"Bearer {signed(claims)}"


def _unknown_kid(user: User, stack: Stack) -> str:
    return "Bearer " + jwt.encode(
        claims_of(user.id_token), emulator_private_key(), "RS256", headers={"kid": "k2"}
    )


ATTACKS: dict[str, Callable[[User, Stack], str | None]] = {
    "missing": _missing,
    "garbage": _garbage,
    "tampered signature": _tampered_signature,
    "tampered claims": _tampered_claims,
    "alg none": _alg_none,
    "HS256 signed with the public key": _hs256_with_public_key,
    "expired": _expired,
    "not yet valid": _not_yet_valid,
    "wrong issuer": _wrong_issuer,
    "wrong audience": _wrong_audience,
    "wrong client_id": _wrong_client_id_access_token,
    "unknown kid": _unknown_kid,
}


@pytest.mark.parametrize("attack", list(ATTACKS))
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/upload-tokens"),
        ("GET", "/upload-tokens"),
        ("GET", "/upload-tokens/to" + "0" * 22),
        ("DELETE", "/upload-tokens/to" + "0" * 22),
    ],
)
def test_jwt_attacks_are_refused(
    stack: Stack, http: requests.Session, user: User, attack: str, method: str, path: str
) -> None:
    authorization = ATTACKS[attack](user, stack)
    headers = {"Authorization": authorization} if authorization else {}

    response = http.request(method, f"{stack.api}{path}", json={"ttl": 60}, headers=headers)

    assert response.status_code == 401, response.text
    assert response.json() == {"message": "Unauthorized"}
    assert "X-RateLimit-Limit" not in response.headers  # refused before any function ran


def test_signed_test_tokens_are_accepted_when_valid(stack: Stack, http: requests.Session, user: User) -> None:
    """The forging helper itself is sound: a validly signed copy of real claims passes."""
    token = signed(claims_of(user.id_token))
    response = http.get(f"{stack.api}/upload-tokens", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


def lifetime(token: str) -> int:
    claims = claims_of(token)
    return int(claims["exp"]) - int(claims["iat"])


def test_sign_in_tokens_live_as_the_template_says(user: User) -> None:
    """The shared stack keeps the template's AuthTokenValidityMinutes (15): moto gave every token an
    hour (local_stack/moto_fixes/cognito.py)."""
    assert (lifetime(user.id_token), lifetime(user.access_token)) == (900, 900)


def test_a_stack_with_five_minute_tokens_issues_them_and_refuses_them_once_expired(tmp_path: Path) -> None:
    with running_stack(tmp_path, "AuthTokenValidityMinutes=5") as stack:
        alice = next(each for each in stack.info["users"] if each["username"] == "alice")
        signed_in = sign_in(stack, alice["username"], alice["password"])
        claims = claims_of(signed_in["IdToken"])
        # the same token, its five minutes run out (signed with the emulator's key, as the pool signs)
        expired = signed(
            claims
            | {"iat": claims["iat"] - 301, "auth_time": claims["iat"] - 301, "exp": claims["exp"] - 301}
        )

        fresh = requests.get(
            f"{stack.api}/upload-tokens",
            headers={"Authorization": f"Bearer {signed_in['IdToken']}"},
            timeout=10,
        )
        stale = requests.get(
            f"{stack.api}/upload-tokens", headers={"Authorization": f"Bearer {expired}"}, timeout=10
        )

    assert (lifetime(signed_in["IdToken"]), lifetime(signed_in["AccessToken"])) == (300, 300)
    assert int(signed_in["ExpiresIn"]) == 300
    assert fresh.status_code == 200, fresh.text
    assert (stale.status_code, stale.json()) == (401, {"message": "Unauthorized"})
