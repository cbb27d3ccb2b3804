"""The strict emulator (local_stack/strict.py) over HTTP: presigned POSTs, presigned URLs and SDK calls,
made by botocore's own signers, pass when S3 would take them and are refused in S3's words (or a JSON
service's) when S3 would not, with nothing stored."""

from __future__ import annotations

import base64
import hashlib
import importlib
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit
from xml.etree import ElementTree

import boto3
import pytest
import requests
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials as BotocoreCredentials
from botocore.exceptions import ClientError

from local_stack.credentials import FUNCTIONS, TOOLS, Credentials
from local_stack.emulator import Emulator
from local_stack.strict import strict_from_environment

BUCKET = "strict-uploads"
UNKNOWN = Credentials("AKIAUNKNOWNTOTHESTACK", "whatever")
LANDING = "<Tagging><TagSet><Tag><Key>stage</Key><Value>landing</Value></Tag></TagSet></Tagging>"


PAGE = "http://page.example"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    served = Emulator("127.0.0.1", 0, strict=True)
    served.browser_origins.add(PAGE)  # as the stack allows its demo page's origin (local_stack/cors.py)
    served.start()
    client(served).create_bucket(Bucket=BUCKET)
    yield served
    served.stop()


def client(emulator: Emulator, credentials: Credentials = TOOLS, service: str = "s3", **config: Any) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=emulator.endpoint,
        region_name="us-east-1",
        config=Config(**({"signature_version": "s3v4"} | config)) if service == "s3" else None,
        **credentials.client_arguments(),
    )


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """botocore's signers sign as at `moment` (its CRT signers too, which it prefers when awscrt is
    installed)."""

    def now(remove_tzinfo: bool = True) -> datetime:
        return moment.replace(tzinfo=None) if remove_tzinfo else moment

    with ExitStack() as patched:
        for module in ("botocore.auth", "botocore.crt.auth"):
            try:
                importlib.import_module(module)
            except ImportError:
                continue
            patched.enter_context(mock.patch(f"{module}.get_current_datetime", now))
        yield


def error(answer: requests.Response) -> dict[str, str]:
    """S3's XML error as {element: text}."""
    return {element.tag: element.text or "" for element in ElementTree.fromstring(answer.content)}


def stored(emulator: Emulator, key: str) -> bool:
    listed = client(emulator).list_objects_v2(Bucket=BUCKET, Prefix=key)
    return any(item["Key"] == key for item in listed.get("Contents", []))


# --- presigned POSTs, shaped as the layer's Storage.presigned_post makes them ---


def target(
    emulator: Emulator,
    credentials: Credentials = FUNCTIONS,
    expires_in: int = 60,
    extra_conditions: list[Any] | None = None,
    extra_fields: dict[str, str] | None = None,
) -> tuple[str, dict[str, str], str]:
    key = f"uploads/{uuid.uuid4().hex}/clip.mp4"
    post = client(emulator, credentials).generate_presigned_post(
        Bucket=BUCKET,
        Key=key,
        Fields={"Content-Type": "video/mp4", "tagging": LANDING, **(extra_fields or {})},
        Conditions=[
            {"Content-Type": "video/mp4"},
            {"tagging": LANDING},
            ["content-length-range", 1, 100],
            *(extra_conditions or []),
        ],
        ExpiresIn=expires_in,
    )
    return post["url"], dict(post["fields"]), key


def post(url: str, fields: dict[str, str], content: bytes = b"x" * 10) -> requests.Response:
    """As a browser sends it: the fields, then the file."""
    return requests.post(url, data=fields, files={"file": ("clip.mp4", content, "video/mp4")}, timeout=10)


def test_a_presigned_post_as_signed_is_stored(emulator: Emulator) -> None:
    url, fields, key = target(emulator)

    answer = post(url, fields)

    assert answer.status_code == 204, answer.text
    assert stored(emulator, key)


def refused_post(
    emulator: Emulator, answer: requests.Response, key: str, status: int, code: str, message: str = ""
) -> dict[str, str]:
    assert answer.status_code == status, answer.text
    body = error(answer)
    assert body["Code"] == code, body
    assert message in body["Message"], body
    assert not stored(emulator, key)
    return body


@pytest.mark.parametrize(
    ("change", "status", "code", "message"),
    [
        (lambda fields: fields | {"x-amz-signature": "0" * 64}, 403, "SignatureDoesNotMatch", ""),
        (  # the policy widened, the signature kept
            lambda fields: (
                fields
                | {
                    "policy": base64.b64encode(
                        base64.b64decode(fields["policy"]).replace(b"100", b"999")
                    ).decode()
                }
            ),
            403,
            "SignatureDoesNotMatch",
            "",
        ),
        (
            lambda fields: fields | {"Content-Type": "text/html"},
            403,
            "AccessDenied",
            'Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", "video/mp4"]',
        ),
        (lambda fields: fields | {"key": "media/someone/else.mp4"}, 403, "AccessDenied", "Condition failed"),
        (
            lambda fields: {name: value for name, value in fields.items() if name != "Content-Type"},
            403,
            "AccessDenied",
            "Policy Condition failed",
        ),
        (
            lambda fields: fields | {"x-amz-meta-owner": "me", "acl": "public-read"},
            403,
            "AccessDenied",
            "Invalid according to Policy: Extra input fields: x-amz-meta-owner, acl",
        ),
        (
            lambda fields: {name: value for name, value in fields.items() if name != "x-amz-signature"},
            400,
            "InvalidArgument",
            "must contain a field named 'x-amz-signature'",
        ),
        (lambda fields: {"key": fields["key"]}, 403, "AccessDenied", "Access Denied"),  # anonymous
        (
            lambda fields: fields | {"x-amz-security-token": "another-session"},
            400,
            "InvalidToken",
            "",
        ),
    ],
    ids=[
        "tampered-signature",
        "tampered-policy",
        "wrong-content-type",
        "another-key",
        "missing-field",
        "extra-fields",
        "no-signature",
        "anonymous",
        "another-session-token",
    ],
)
def test_a_post_that_breaks_its_policy_is_refused_and_nothing_stored(
    emulator: Emulator, change: Any, status: int, code: str, message: str
) -> None:
    url, fields, key = target(emulator)

    answer = post(url, change(fields))

    refused_post(emulator, answer, key, status, code, message)


def test_fields_prefixed_x_ignore_need_no_condition(emulator: Emulator) -> None:
    url, fields, key = target(emulator)

    assert post(url, fields | {"x-ignore-note": "anything"}).status_code == 204
    assert stored(emulator, key)


def test_a_file_outside_the_content_length_range_is_refused_with_its_size(emulator: Emulator) -> None:
    url, fields, key = target(emulator)

    large = refused_post(emulator, post(url, fields, b"x" * 101), key, 400, "EntityTooLarge")
    small = refused_post(emulator, post(url, fields, b""), key, 400, "EntityTooSmall")

    assert (large["ProposedSize"], large["MaxSizeAllowed"]) == ("101", "100")
    assert (small["ProposedSize"], small["MinSizeAllowed"]) == ("0", "1")


def test_an_expired_policy_is_refused(emulator: Emulator) -> None:
    url, fields, key = target(emulator, expires_in=-1)

    refused_post(
        emulator, post(url, fields), key, 403, "AccessDenied", "Invalid according to Policy: Policy expired."
    )


def test_a_post_signed_with_credentials_the_stack_does_not_know_is_refused(emulator: Emulator) -> None:
    url, fields, key = target(emulator, UNKNOWN)

    body = refused_post(emulator, post(url, fields), key, 403, "InvalidAccessKeyId")
    assert body["AWSAccessKeyId"] == UNKNOWN.access_key_id


def test_a_checksum_field_is_checked_against_the_file(emulator: Emulator) -> None:
    content = b"the bytes the client hashed"
    checksum = base64.b64encode(hashlib.sha256(content).digest()).decode()
    url, fields, key = target(
        emulator,
        extra_conditions=[{"x-amz-checksum-sha256": checksum}],
        extra_fields={"x-amz-checksum-sha256": checksum},
    )

    refused_post(emulator, post(url, fields, b"other bytes"), key, 400, "BadDigest", "SHA256")
    assert post(url, fields, content).status_code == 204
    assert stored(emulator, key)


def test_a_sigv2_post_is_refused(emulator: Emulator) -> None:
    sigv2 = client(emulator, TOOLS, signature_version="s3")
    key = f"uploads/{uuid.uuid4().hex}/v2.mp4"
    presigned = sigv2.generate_presigned_post(Bucket=BUCKET, Key=key)

    refused_post(
        emulator, post(presigned["url"], presigned["fields"]), key, 400, "InvalidRequest", "AWS4-HMAC-SHA256"
    )


# --- presigned URLs: the part PUTs of a multipart upload ---


@pytest.fixture
def upload(emulator: Emulator) -> Iterator[tuple[str, str]]:
    key = f"uploads/{uuid.uuid4().hex}/big.mp4"
    upload_id = client(emulator, FUNCTIONS).create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    yield key, upload_id
    client(emulator).abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload_id)


def part_url(
    emulator: Emulator,
    upload: tuple[str, str],
    number: int = 1,
    credentials: Credentials = FUNCTIONS,
    **more: Any,
) -> str:
    key, upload_id = upload
    params = {"Bucket": BUCKET, "Key": key, "UploadId": upload_id, "PartNumber": number, **more}
    return str(
        client(emulator, credentials).generate_presigned_url("upload_part", Params=params, ExpiresIn=60)
    )


def parts(emulator: Emulator, upload: tuple[str, str]) -> list[int]:
    key, upload_id = upload
    listed = client(emulator).list_parts(Bucket=BUCKET, Key=key, UploadId=upload_id)
    return [part["PartNumber"] for part in listed.get("Parts", [])]


def with_query(url: str, **changes: str) -> str:
    split = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(split.query).items()} | changes
    return urlunsplit(split._replace(query=urlencode(query)))


def test_a_presigned_part_as_signed_is_stored(emulator: Emulator, upload: tuple[str, str]) -> None:
    answer = requests.put(part_url(emulator, upload, 2), data=b"part two", timeout=10)

    assert answer.status_code == 200, answer.text
    assert parts(emulator, upload) == [2]


def refused_part(
    emulator: Emulator, upload: tuple[str, str], answer: requests.Response, status: int, code: str
) -> dict[str, str]:
    assert answer.status_code == status, answer.text
    body = error(answer)
    assert body["Code"] == code, body
    assert parts(emulator, upload) == []
    return body


def test_a_part_url_for_another_part_number_is_refused(emulator: Emulator, upload: tuple[str, str]) -> None:
    tampered = with_query(part_url(emulator, upload, 1), partNumber="2")

    body = refused_part(
        emulator, upload, requests.put(tampered, data=b"part", timeout=10), 403, "SignatureDoesNotMatch"
    )
    assert "partNumber=2" in body["CanonicalRequest"]  # S3 says what it computed


def test_a_part_url_with_a_tampered_signature_or_expiry_is_refused(
    emulator: Emulator, upload: tuple[str, str]
) -> None:
    url = part_url(emulator, upload)
    for tampered in (
        with_query(url, **{"X-Amz-Signature": "0" * 64}),
        with_query(url, **{"X-Amz-Expires": "604800"}),
    ):
        refused_part(
            emulator, upload, requests.put(tampered, data=b"part", timeout=10), 403, "SignatureDoesNotMatch"
        )


def test_an_expired_part_url_is_refused(emulator: Emulator, upload: tuple[str, str]) -> None:
    with clock_at(datetime.now(UTC) - timedelta(hours=1)):
        url = part_url(emulator, upload)

    body = refused_part(emulator, upload, requests.put(url, data=b"part", timeout=10), 403, "AccessDenied")
    assert body["Message"] == "Request has expired"
    assert body["X-Amz-Expires"] == "60"


def test_a_signed_content_length_binds_the_body(emulator: Emulator, upload: tuple[str, str]) -> None:
    url = part_url(emulator, upload, ContentLength=4)

    refused_part(emulator, upload, requests.put(url, data=b"12345", timeout=10), 403, "SignatureDoesNotMatch")
    assert requests.put(url, data=b"1234", timeout=10).status_code == 200


def test_a_part_url_signed_by_credentials_the_stack_does_not_know_is_refused(
    emulator: Emulator, upload: tuple[str, str]
) -> None:
    url = part_url(emulator, upload, credentials=UNKNOWN)

    refused_part(emulator, upload, requests.put(url, data=b"part", timeout=10), 403, "InvalidAccessKeyId")


def test_a_session_credential_without_its_token_is_unknown(
    emulator: Emulator, upload: tuple[str, str]
) -> None:
    url = part_url(
        emulator, upload, credentials=Credentials(FUNCTIONS.access_key_id, FUNCTIONS.secret_access_key)
    )

    refused_part(emulator, upload, requests.put(url, data=b"part", timeout=10), 403, "InvalidAccessKeyId")


# --- unsigned requests ---


def test_unsigned_puts_and_gets_of_the_bucket_are_refused(emulator: Emulator) -> None:
    key = f"uploads/{uuid.uuid4().hex}/unsigned.mp4"
    client(emulator).put_object(Bucket=BUCKET, Key="private.txt", Body=b"secret")

    put = requests.put(f"{emulator.endpoint}/{BUCKET}/{key}", data=b"x", timeout=10)
    got = requests.get(f"{emulator.endpoint}/{BUCKET}/private.txt", timeout=10)
    unsigned_sdk = client(emulator, TOOLS, signature_version=UNSIGNED)

    assert (put.status_code, error(put)["Code"]) == (403, "AccessDenied")
    assert (got.status_code, error(got)["Code"]) == (403, "AccessDenied")
    with pytest.raises(ClientError, match="AccessDenied"):
        unsigned_sdk.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    assert not stored(emulator, key)


def test_what_aws_serves_unsigned_passes(emulator: Emulator) -> None:
    preflight = requests.options(
        f"{emulator.endpoint}/{BUCKET}",
        headers={"Origin": PAGE, "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    cognito = client(emulator, service="cognito-idp")
    pool = cognito.create_user_pool(PoolName="strict")["UserPool"]["Id"]
    jwks = requests.get(f"{emulator.endpoint}/{pool}/.well-known/jwks.json", timeout=10)
    anonymous = boto3.client(
        "cognito-idp",
        endpoint_url=emulator.endpoint,
        region_name="us-east-1",
        config=Config(signature_version=UNSIGNED),
    )

    assert preflight.status_code == 200
    assert jwks.status_code == 200 and jwks.json()["keys"]
    with pytest.raises(ClientError, match="ResourceNotFound"):  # reached Cognito: no such client
        anonymous.initiate_auth(
            ClientId="nobody",
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "a", "PASSWORD": "b"},
        )
    with pytest.raises(ClientError, match="MissingAuthenticationToken"):
        anonymous.admin_get_user(UserPoolId=pool, Username="a")


# --- SDK calls, signed in their Authorization header ---


@pytest.mark.parametrize("service", ["s3", "dynamodb", "sqs", "cognito-idp"])
def test_calls_signed_by_unknown_credentials_or_the_wrong_secret_are_refused(
    emulator: Emulator, service: str
) -> None:
    calls = {
        "s3": lambda c: c.list_objects_v2(Bucket=BUCKET),
        "dynamodb": lambda c: c.list_tables(),
        "sqs": lambda c: c.list_queues(),
        "cognito-idp": lambda c: c.list_user_pools(MaxResults=1),
    }
    unknown, wrong = (
        ("InvalidAccessKeyId", "SignatureDoesNotMatch")
        if service == "s3"
        else (
            "UnrecognizedClientException",
            "InvalidSignatureException",
        )
    )

    calls[service](client(emulator, TOOLS, service))
    calls[service](client(emulator, FUNCTIONS, service))
    with pytest.raises(ClientError, match=unknown):
        calls[service](client(emulator, UNKNOWN, service))
    with pytest.raises(ClientError, match=wrong):
        calls[service](client(emulator, Credentials(TOOLS.access_key_id, "not-the-secret"), service))


def signed_put(emulator: Emulator, key: str, content: bytes, at: datetime | None = None) -> AWSRequest:
    """A PutObject signed by botocore's SigV4 signer over `content`."""
    request = AWSRequest(
        method="PUT",
        url=f"{emulator.endpoint}/{BUCKET}/{key}",
        data=content,
        headers={"X-Amz-Content-SHA256": hashlib.sha256(content).hexdigest()},
    )
    signer = SigV4Auth(BotocoreCredentials(TOOLS.access_key_id, TOOLS.secret_access_key), "s3", "us-east-1")
    with clock_at(at or datetime.now(UTC)):
        signer.add_auth(request)
    return request


def test_a_body_that_is_not_the_one_signed_is_refused(emulator: Emulator) -> None:
    key = f"uploads/{uuid.uuid4().hex}/swapped.bin"
    request = signed_put(emulator, key, b"what was signed")

    answer = requests.put(
        str(request.url), data=b"something else!", headers=dict(request.headers), timeout=10
    )

    assert (answer.status_code, error(answer)["Code"]) == (400, "XAmzContentSHA256Mismatch")
    assert (
        requests.put(
            str(request.url), data=request.body, headers=dict(request.headers), timeout=10
        ).status_code
        == 200
    )
    assert stored(emulator, key)


def test_a_request_signed_long_ago_is_refused(emulator: Emulator) -> None:
    key = f"uploads/{uuid.uuid4().hex}/old.bin"
    request = signed_put(emulator, key, b"x", at=datetime.now(UTC) - timedelta(minutes=20))

    answer = requests.put(str(request.url), data=request.body, headers=dict(request.headers), timeout=10)

    assert (answer.status_code, error(answer)["Code"]) == (403, "RequestTimeTooSkewed")
    assert not stored(emulator, key)


def test_a_wrong_checksum_header_is_refused(emulator: Emulator) -> None:
    key = f"uploads/{uuid.uuid4().hex}/checked.bin"
    s3 = client(emulator)

    with pytest.raises(ClientError, match="BadDigest"):
        s3.put_object(
            Bucket=BUCKET,
            Key=key,
            Body=b"abc",
            ChecksumSHA256=base64.b64encode(hashlib.sha256(b"abd").digest()).decode(),
        )
    s3.put_object(
        Bucket=BUCKET,
        Key=key,
        Body=b"abc",
        ChecksumSHA256=base64.b64encode(hashlib.sha256(b"abc").digest()).decode(),
    )
    assert stored(emulator, key)


# --- turning it off ---


def test_strict_is_on_unless_strict_is_0(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STRICT", raising=False)
    assert strict_from_environment()
    monkeypatch.setenv("STRICT", "1")
    assert strict_from_environment()
    monkeypatch.setenv("STRICT", "0")
    assert not strict_from_environment()


def test_a_lenient_emulator_takes_what_the_strict_one_refuses() -> None:
    lenient = Emulator("127.0.0.1", 0, strict=False)
    lenient.start()
    try:
        client(lenient).create_bucket(Bucket="lenient")
        answer = requests.put(f"{lenient.endpoint}/lenient/anything", data=b"x", timeout=10)
        assert answer.status_code == 200, answer.text
        assert "lenient" in [bucket["Name"] for bucket in client(lenient, UNKNOWN).list_buckets()["Buckets"]]
    finally:
        lenient.stop()


def test_a_preflight_of_a_presigned_url_passes(emulator: Emulator, upload: tuple[str, str]) -> None:
    """A browser asks before its PUT, at the same URL, query and all: no credentials are checked."""
    preflight = requests.options(
        part_url(emulator, upload),
        headers={"Origin": PAGE, "Access-Control-Request-Method": "PUT"},
        timeout=10,
    )

    assert preflight.status_code == 200, preflight.text
