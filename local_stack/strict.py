"""The strict emulator (DESIGN.md §7): in front of moto, which checks no credential and no signature,
every request is judged as AWS would judge it before moto sees it.

- signed in its `Authorization` header (every SDK call): SigV4 only, an access key the stack knows
  (local_stack/credentials.py) with its session token, a time within 15 minutes, and the signature
  recomputed with botocore's signer from what was received (for S3, also the body against its
  `x-amz-content-sha256` and checksum headers);
- signed in its query (a presigned URL): the same, and its expiry (`X-Amz-Date` + `X-Amz-Expires`);
- a POST to a bucket (a presigned POST): its policy (local_stack/s3_post.py);
- anything else is anonymous, and refused (S3: 403 AccessDenied; a private bucket allows nothing
  anonymous), but for what AWS serves without a signature: CORS preflights, a user pool's JWKS and
  OpenID configuration, and Cognito's public operations (`InitiateAuth`, ...) as a browser calls them.

A refused request reaches no backend: nothing is stored. `STRICT=0` in the local stack's environment
turns all of this off (`strict_from_environment`): for debugging only, since a test that passes that
way proves nothing about AWS.
"""

from __future__ import annotations

import os
import sys
from collections import ChainMap
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from local_stack.credentials import KNOWN, Credentials
from local_stack.iam.guard import RoleGuard
from local_stack.received import Received, Refused
from local_stack.s3_post import check_post, is_post_upload
from local_stack.sigv4 import (
    QUERY_PARAMETERS,
    SIGV2_QUERY_PARAMETERS,
    check_header_signed,
    check_query_signed,
)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: Cognito user pool operations AWS serves unsigned (authorized by the caller's tokens or by nothing):
#: https://docs.aws.amazon.com/cognito/latest/developerguide/user-pools-API-operations.html
COGNITO_PUBLIC = frozenset(
    f"AWSCognitoIdentityProviderService.{operation}"
    for operation in (
        "AssociateSoftwareToken",
        "ChangePassword",
        "CompleteWebAuthnRegistration",
        "ConfirmDevice",
        "ConfirmForgotPassword",
        "ConfirmSignUp",
        "DeleteUser",
        "DeleteUserAttributes",
        "DeleteWebAuthnCredential",
        "ForgetDevice",
        "ForgotPassword",
        "GetDevice",
        "GetTokensFromRefreshToken",
        "GetUser",
        "GetUserAttributeVerificationCode",
        "GetUserAuthFactors",
        "GlobalSignOut",
        "InitiateAuth",
        "ListDevices",
        "ListWebAuthnCredentials",
        "ResendConfirmationCode",
        "RespondToAuthChallenge",
        "RevokeToken",
        "SetUserMFAPreference",
        "SetUserSettings",
        "SignUp",
        "StartWebAuthnRegistration",
        "UpdateDeviceStatus",
        "UpdateUserAttributes",
        "VerifySoftwareToken",
        "VerifyUserAttribute",
    )
)
#: What a user pool publishes for anyone (`<pool>/.well-known/...`).
PUBLIC_DOCUMENTS = ("/.well-known/jwks.json", "/.well-known/openid-configuration")


def strict_from_environment() -> bool:
    """`STRICT=0` turns the strict emulator off; anything else, or nothing, leaves it on."""
    return os.environ.get("STRICT", "1").strip() != "0"


def refusing(
    app: WsgiApp, known: Mapping[str, Credentials] = KNOWN, guard: RoleGuard | None = None
) -> WsgiApp:
    """`app` behind the checks AWS makes: what fails one is answered here, in the service's words.
    With a `guard`, the credentials of the roles it adopts are known too, and each call is judged by its
    signer's role (local_stack/iam/guard.py)."""
    if guard is not None:
        known = ChainMap(guard.known, dict(known))

    def strict(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        received = Received(environ)
        try:
            judge(received, known, guard)
        except Refused as refused:
            received.drain()
            # One line in the stack's log: what AWS refused is what a developer needs to see.
            sys.stderr.write(f"emulator refused {received.method} {received.path}: {refused}\n")
            sys.stderr.flush()
            return refused.respond(received, start_response)
        return app(environ, start_response)

    return strict


def judge(received: Received, known: Mapping[str, Credentials], guard: RoleGuard | None = None) -> None:
    """Returns if AWS would let the request through to the service; raises `Refused` if not."""
    if received.method == "OPTIONS":
        return  # CORS preflights carry no credentials, even to a presigned URL (moto's flask-cors answers)
    form = None
    if received.header("authorization") is not None:
        signer = check_header_signed(received, known)
    elif received.has_param(*QUERY_PARAMETERS):
        signer = check_query_signed(received, known)
    elif received.has_param(*SIGV2_QUERY_PARAMETERS):
        raise Refused.unsupported_signature(received.s3)
    elif is_post_upload(received):
        signer, form = check_post(received, known)
    elif served_unsigned(received):
        return
    else:
        raise Refused.anonymous(received.s3)
    if guard is not None:
        guard.judge(received, signer, form)


def served_unsigned(received: Received) -> bool:
    if received.header("x-amz-target") in COGNITO_PUBLIC:
        return True
    return received.method in ("GET", "HEAD") and received.path.rstrip("/").endswith(PUBLIC_DOCUMENTS)
