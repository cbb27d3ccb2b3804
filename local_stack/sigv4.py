"""SigV4 as AWS checks it, for the strict emulator (local_stack/strict.py): the signature of a request
signed in its `Authorization` header or in its query string (a presigned URL) is recomputed with
botocore's own signers from what was received, and compared; so are its credentials, its time and,
for S3, its body's declared SHA-256 and checksums. Any failure is a `Refused` in the service's words.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials as BotocoreCredentials

from local_stack.credentials import Credentials
from local_stack.received import Received, Refused, checksum_headers, mismatched_checksum

ALGORITHM = "AWS4-HMAC-SHA256"
TIMESTAMP = "%Y%m%dT%H%M%SZ"
#: How far a request's time may be from the emulator's, as AWS allows.
MAX_SKEW_SECONDS = 15 * 60
#: A presigned URL lives a week at most.
MAX_EXPIRES_SECONDS = 7 * 24 * 3600
#: Query parameters of a presigned URL (SigV4), and those of one signed with SigV2.
QUERY_PARAMETERS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
)
SIGV2_QUERY_PARAMETERS = ("AWSAccessKeyId", "Signature")
#: x-amz-content-sha256 values that declare no hash of the body.
UNHASHED_PAYLOADS = frozenset(
    {
        "UNSIGNED-PAYLOAD",
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    }
)


class _AsReceived(SigV4Auth):
    """botocore's signer, told which headers were signed rather than choosing them itself."""

    def __init__(self, credentials: Credentials, service: str, region: str, signed: HTTPHeaders) -> None:
        botocore = BotocoreCredentials(credentials.access_key_id, credentials.secret_access_key)
        super().__init__(botocore, service, region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        return self._signed


class _S3AsReceived(_AsReceived, S3SigV4Auth):
    pass


class _S3QueryAsReceived(_AsReceived, S3SigV4QueryAuth):
    pass


class _QueryAsReceived(_AsReceived, SigV4QueryAuth):
    pass


class Scope:
    """`AKID/20250101/us-east-1/s3/aws4_request`, parsed."""

    def __init__(self, text: str, s3: bool) -> None:
        parts = text.split("/")
        if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts):
            raise Refused.malformed(s3, f"the credential scope {text!r} is malformed")
        self.access_key_id, self.date, self.region, self.service, _ = parts


def known_credentials(
    scope: Scope, token: str | None, known: Mapping[str, Credentials], s3: bool
) -> Credentials:
    """The credentials the request names, if the stack knows them and the session token is theirs."""
    credentials = known.get(scope.access_key_id)
    if credentials is None or (credentials.session_token and token is None):
        raise Refused.unknown_access_key(s3, scope.access_key_id)
    if token is not None and token != credentials.session_token:
        raise Refused.invalid_token(s3)
    return credentials


def check_header_signed(received: Received, known: Mapping[str, Credentials]) -> Credentials:
    """`Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`; who signed it."""
    s3 = received.s3
    authorization = received.header("authorization") or ""
    algorithm, _, rest = authorization.partition(" ")
    if algorithm != ALGORITHM:
        raise Refused.unsupported_signature(s3)
    fields = dict(part.strip().partition("=")[::2] for part in rest.split(","))
    if not {"Credential", "SignedHeaders", "Signature"} <= set(fields):
        raise Refused.malformed(s3, "the Authorization header lacks Credential, SignedHeaders or Signature")
    scope = Scope(fields["Credential"], s3)
    credentials = known_credentials(scope, received.header("x-amz-security-token"), known, s3)
    timestamp = received.header("x-amz-date") or ""
    _check_time(timestamp, s3)
    signed = fields["SignedHeaders"].split(";")
    if scope.service == "s3" and received.header("x-amz-content-sha256") is None:
        raise Refused(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
    signer_class = _S3AsReceived if scope.service == "s3" else _AsReceived
    body = b"" if scope.service == "s3" else received.small_body()
    _compare(received, credentials, scope, signer_class, signed, timestamp, fields["Signature"], body)
    if s3:
        check_s3_body(received)
    return credentials


def check_query_signed(received: Received, known: Mapping[str, Credentials]) -> Credentials:
    """A presigned URL: `X-Amz-Algorithm`, `X-Amz-Credential`, ... and `X-Amz-Signature` in the query;
    who signed it."""
    s3 = received.s3
    params = {name: received.param(name) for name in (*QUERY_PARAMETERS, "X-Amz-Expires")}
    if any(value is None for value in params.values()):
        raise Refused.query_parameters(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
            "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
        )
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise Refused.query_parameters(f'X-Amz-Algorithm only supports "{ALGORITHM}"')
    expires_text = str(params["X-Amz-Expires"])
    if not expires_text.isdigit() or not 0 < int(expires_text) <= MAX_EXPIRES_SECONDS:
        raise Refused.query_parameters(
            "X-Amz-Expires must be less than a week (in seconds) that is 604800"
            if expires_text.isdigit()
            else "X-Amz-Expires should be a number"
        )
    scope = Scope(str(params["X-Amz-Credential"]), s3)
    credentials = known_credentials(scope, received.param("X-Amz-Security-Token"), known, s3)
    timestamp = str(params["X-Amz-Date"])
    signed_at = _parse_time(timestamp, s3)
    signed = str(params["X-Amz-SignedHeaders"]).split(";")
    if "host" not in signed:
        raise Refused.query_parameters("X-Amz-SignedHeaders must contain host")
    signer_class = _S3QueryAsReceived if scope.service == "s3" else _QueryAsReceived
    body = b"" if scope.service == "s3" else received.small_body()
    _compare(
        received, credentials, scope, signer_class, signed, timestamp, str(params["X-Amz-Signature"]), body
    )
    now = time.time()
    if now < signed_at - MAX_SKEW_SECONDS:
        raise Refused(403, "AccessDenied", "Request is not valid yet", s3=s3)
    if now > signed_at + int(expires_text):
        raise Refused(
            403,
            "AccessDenied",
            "Request has expired",
            s3=s3,
            **{
                "X-Amz-Expires": expires_text,
                "Expires": _iso(signed_at + int(expires_text)),
                "ServerTime": _iso(now),
            },
        )
    if s3:
        check_s3_body(received)
    return credentials


def check_s3_body(received: Received) -> None:
    """The body is what its `x-amz-content-sha256` and checksum headers say, before moto stores it."""
    declared = received.header("x-amz-content-sha256")
    wanted = checksum_headers(received)
    hashed = declared is not None and declared not in UNHASHED_PAYLOADS
    if hashed and (len(declared or "") != 64 or not all(c in "0123456789abcdef" for c in str(declared))):
        raise Refused(
            400,
            "InvalidArgument",
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-"
            "UNSIGNED-PAYLOAD-TRAILER, or a valid sha256 value.",
        )
    if declared is not None and declared.startswith("STREAMING-"):
        return  # aws-chunked bodies: neither chunk signatures nor trailing checksums are checked here
    if not hashed and not wanted:
        return
    names = (["sha256"] if hashed else []) + [name for name, _ in wanted]
    computed = received.buffer(names)
    if hashed and computed["sha256"].hex() != declared:
        raise Refused(
            400,
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            ClientComputedContentSHA256=str(declared),
            S3ComputedContentSHA256=computed["sha256"].hex(),
        )
    mismatched_checksum(wanted, computed)


def _compare(
    received: Received,
    credentials: Credentials,
    scope: Scope,
    signer_class: type[_AsReceived],
    signed: list[str],
    timestamp: str,
    provided: str,
    body: bytes,
) -> None:
    if timestamp[:8] != scope.date:
        raise Refused.malformed(
            received.s3, f"the credential scope's date {scope.date} is not the date of X-Amz-Date {timestamp}"
        )
    headers = HTTPHeaders()
    for name in signed:
        headers[name] = received.header(name) or ""
    path = received.raw_path
    if scope.service == "s3":  # S3 signs the path as its SDKs encode it: each byte but /~ and unreserved
        path = quote(received.path, safe="/~")
    request = AWSRequest(
        method=received.method,
        url=f"http://{received.header('host') or 'localhost'}{path}",
        headers=dict(headers.items()),
        data=body,
    )
    # Decoded, as AWS decodes them, for botocore to encode and sort as it does when it signs.
    request.params = [(name, value) for name, value in received.query if name != "X-Amz-Signature"]  # type: ignore[assignment]
    request.context["timestamp"] = timestamp
    signer = signer_class(credentials, scope.service, scope.region, headers)
    canonical = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical)
    expected = signer.signature(string_to_sign, request)
    if not hmac.compare_digest(expected, provided):
        raise Refused.signature_mismatch(
            received.s3, scope.access_key_id, string_to_sign, provided, canonical
        )


def _parse_time(timestamp: str, s3: bool) -> float:
    try:
        return datetime.strptime(timestamp, TIMESTAMP).replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise Refused.malformed(s3, f"X-Amz-Date {timestamp!r} is not of the form {TIMESTAMP}") from None


def _check_time(timestamp: str, s3: bool) -> None:
    if not timestamp:
        raise Refused(
            403, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header", s3=s3
        )
    skew = abs(time.time() - _parse_time(timestamp, s3))
    if skew > MAX_SKEW_SECONDS:
        raise Refused.too_skewed(s3, timestamp)


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def signature_for_post(credentials: Credentials, scope: Scope, policy: str) -> str:
    """A POST policy's signature: HMAC-SHA256 of the base64 policy with the scope's signing key."""
    signer = SigV4Auth(
        BotocoreCredentials(credentials.access_key_id, credentials.secret_access_key),
        scope.service,
        scope.region,
    )
    request: Any = AWSRequest()
    request.context["timestamp"] = f"{scope.date}T000000Z"
    return str(signer.signature(policy, request))
