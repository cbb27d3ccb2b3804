"""A browser's POST to a bucket (multipart/form-data), judged as S3 judges it before it stores a byte:
SigV4 only, a credential the stack knows, the policy's signature and expiry, every condition of the
policy (exact matches, `starts-with`, `content-length-range` against the file's real size), no form
field the policy does not name, and the file's checksum when a field declares one.

https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from werkzeug.formparser import parse_form_data

from local_stack.credentials import Credentials
from local_stack.received import CHECKSUMS, Received, Refused, mismatched_checksum
from local_stack.sigv4 import ALGORITHM, Scope, known_credentials, signature_for_post

#: Fields no condition needs to name.
UNCONDITIONED = frozenset({"file", "policy", "x-amz-signature"})


def is_post_upload(received: Received) -> bool:
    content_type = (received.header("content-type") or "").lower()
    return received.method == "POST" and received.s3 and content_type.startswith("multipart/form-data")


def check_post(received: Received, known: Mapping[str, Credentials]) -> tuple[Credentials, dict[str, str]]:
    """Who signed the POST's policy, and the form's fields (names in lower case)."""
    fields, size, file_digests = _form(received)
    if "policy" not in fields and "x-amz-signature" not in fields and "signature" not in fields:
        raise Refused.anonymous(s3=True)  # the bucket is private: an anonymous POST stores nothing
    if fields.get("x-amz-algorithm") != ALGORITHM:
        raise Refused.unsupported_signature(s3=True)
    for required in ("x-amz-credential", "x-amz-date", "x-amz-signature", "policy"):
        if required not in fields:
            raise Refused(
                400,
                "InvalidArgument",
                f"Bucket POST must contain a field named '{required}'.  If it is specified, please check the "
                "order of the fields.",
                ArgumentName=required,
            )
    scope = Scope(fields["x-amz-credential"], s3=True)
    if scope.service != "s3":
        raise Refused.malformed(True, f"the credential scope names the service {scope.service!r}, not 's3'")
    credentials = known_credentials(scope, fields.get("x-amz-security-token"), known, s3=True)
    policy_text = fields["policy"]
    provided = fields["x-amz-signature"]
    if not hmac.compare_digest(signature_for_post(credentials, scope, policy_text), provided):
        raise Refused.signature_mismatch(True, scope.access_key_id, policy_text, provided, "")
    policy = _policy(policy_text)
    bucket = received.path.strip("/").partition("/")[0]
    covered, length_range = _conditions(policy["conditions"], fields, bucket)
    extra = [
        name for name in fields if name not in covered | UNCONDITIONED and not name.startswith("x-ignore-")
    ]
    if extra:
        raise _policy_refusal("Extra input fields: " + ", ".join(extra))
    if length_range is not None:
        low, high = length_range
        if size > high:
            raise Refused(
                400,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
                ProposedSize=str(size),
                MaxSizeAllowed=str(high),
            )
        if size < low:
            raise Refused(
                400,
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size",
                ProposedSize=str(size),
                MinSizeAllowed=str(low),
            )
    declared = [(name, fields[f"x-amz-checksum-{name}"]) for name in file_digests]
    mismatched_checksum(declared, file_digests)
    return credentials, fields


def _form(received: Received) -> tuple[dict[str, str], int, dict[str, bytes]]:
    """The form's fields (names in lower case, as S3 matches them), the file's size, and its digests
    for each `x-amz-checksum-*` field. The body stays buffered for moto to read again."""
    received.buffer()
    environ = {**received.environ, "wsgi.input": received.environ["wsgi.input"]}
    _, form, files = parse_form_data(environ)
    try:
        fields = {name.lower(): value for name, value in form.items()}
        upload = next((stored for name, stored in files.items() if name.lower() == "file"), None)
        if upload is None and "file" not in fields:
            raise Refused(400, "InvalidArgument", "POST requires exactly one file upload per request.")
        content: Any = upload.stream if upload is not None else None
        wanted = [name for name in CHECKSUMS if name != "md5" and f"x-amz-checksum-{name}" in fields]
        digests = {name: CHECKSUMS[name]() for name in wanted}
        size = 0
        if content is None:
            data = fields.pop("file").encode()
            size = len(data)
            for digest in digests.values():
                digest.update(data)
        else:
            content.seek(0)
            for chunk in iter(lambda: content.read(1024 * 1024), b""):
                size += len(chunk)
                for digest in digests.values():
                    digest.update(chunk)
    finally:
        for stored in files.values():
            stored.close()
        received.buffer()  # rewound for moto
    return fields, size, {name: digest.digest() for name, digest in digests.items()}


def _policy(text: str) -> dict[str, Any]:
    try:
        policy = json.loads(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        raise Refused(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.") from None
    if not isinstance(policy, dict) or not isinstance(policy.get("conditions"), list):
        raise Refused(400, "InvalidPolicyDocument", "Invalid Policy: Invalid 'conditions' value.")
    try:
        expiration = datetime.fromisoformat(str(policy["expiration"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        raise Refused(400, "InvalidPolicyDocument", "Invalid Policy: Invalid 'expiration' value.") from None
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=UTC)
    if expiration.timestamp() < time.time():
        raise _policy_refusal("Policy expired.")
    return policy


def _conditions(
    conditions: list[Any], fields: dict[str, str], bucket: str
) -> tuple[set[str], tuple[int, int] | None]:
    """Every condition holds, or the first that does not is refused; the field names they cover and
    the content-length-range."""
    covered: set[str] = set()
    length_range = None
    for condition in conditions:
        if isinstance(condition, dict) and len(condition) == 1:
            ((name, expected),) = condition.items()
            operator, shown = "eq", ["eq", f"${name}", expected]
        elif (
            isinstance(condition, list)
            and len(condition) == 3
            and str(condition[0]).lower() == "content-length-range"
        ):
            try:
                length_range = (int(condition[1]), int(condition[2]))
            except (TypeError, ValueError):
                raise _invalid(condition) from None
            continue
        elif (
            isinstance(condition, list)
            and len(condition) == 3
            and str(condition[0]).lower() in ("eq", "starts-with")
            and str(condition[1]).startswith("$")
        ):
            operator, name, expected, shown = (
                str(condition[0]).lower(),
                str(condition[1])[1:],
                condition[2],
                condition,
            )
        else:
            raise _invalid(condition)
        name = name.lower()
        covered.add(name)
        actual = bucket if name == "bucket" else fields.get(name)
        if not _holds(operator, name, actual, str(expected)):
            raise _policy_refusal("Policy Condition failed: " + json.dumps(shown))
    return covered, length_range


def _holds(operator: str, name: str, actual: str | None, expected: str) -> bool:
    if operator == "eq":
        return actual == expected
    if expected == "":
        return True  # starts-with "": any value, or none
    if actual is None:
        return False
    values = actual.split(",") if name == "content-type" else [actual]  # S3: each of a list of types
    return all(value.strip().startswith(expected) for value in values)


def _policy_refusal(why: str) -> Refused:
    return Refused(403, "AccessDenied", f"Invalid according to Policy: {why}")


def _invalid(condition: Any) -> Refused:
    return Refused(
        400, "InvalidPolicyDocument", f"Invalid Policy: Invalid Condition: {json.dumps(condition)}"
    )
