"""A request as the strict emulator received it (`Received`: its path, query, headers and body as
sent), and its refusal in the words of the service it was for (`Refused`: S3's XML error, or the JSON
error of the other services)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import uuid
from collections.abc import Callable, Iterable
from tempfile import SpooledTemporaryFile
from typing import IO, Any
from urllib.parse import quote, unquote
from xml.sax.saxutils import escape

from botocore import httpchecksum
from moto.core.request import environ_key_for_header

#: Bodies up to this size are buffered in memory, larger ones in a temporary file.
IN_MEMORY_BYTES = 16 * 1024 * 1024
READ_BYTES = 1024 * 1024


def _checksums() -> dict[str, Callable[[], Any]]:
    """S3's checksum algorithms as botocore computes them (CRC32C and CRC64NVME need awscrt)."""
    made: dict[str, Callable[[], Any]] = {
        "crc32": httpchecksum.Crc32Checksum,
        "sha1": httpchecksum.Sha1Checksum,
        "sha256": httpchecksum.Sha256Checksum,
        "md5": hashlib.md5,
    }
    if httpchecksum.HAS_CRT:
        made |= {"crc32c": httpchecksum.CrtCrc32cChecksum, "crc64nvme": httpchecksum.CrtCrc64NvmeChecksum}
    return made


CHECKSUMS = _checksums()


def _wsgi_text(value: str) -> str:
    """WSGI carries the request's bytes as latin-1 text."""
    return value.encode("latin-1").decode("utf-8", "replace")


class Received:
    def __init__(self, environ: dict[str, Any]) -> None:
        self.environ = environ
        self.method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        raw = _wsgi_text(environ.get("RAW_URI") or quote(environ.get("PATH_INFO", "/")))
        if raw.startswith(("http://", "https://")):  # an absolute-form request target
            raw = "/" + raw.partition("://")[2].partition("/")[2]
        self.raw_path = raw.partition("?")[0] or "/"
        self.path = unquote(self.raw_path)
        query = _wsgi_text(environ.get("QUERY_STRING", ""))
        self.query = [
            (unquote(name), unquote(value))
            for name, _, value in (pair.partition("=") for pair in query.split("&") if pair)
        ]
        self._small_body: bytes | None = None
        self._buffer: IO[bytes] | None = None

    @property
    def s3(self) -> bool:
        """moto sends every request without an X-Amz-Target (and not signed for another service) to S3."""
        return "HTTP_X_AMZ_TARGET" not in self.environ

    def header(self, name: str) -> str | None:
        value = self.environ.get(environ_key_for_header(name))
        return None if value is None else _wsgi_text(str(value))

    def param(self, name: str) -> str | None:
        return next((value for key, value in self.query if key == name), None)

    def has_param(self, *names: str) -> bool:
        return any(key in names for key, _ in self.query)

    def _length(self) -> int | None:
        length = str(self.environ.get("CONTENT_LENGTH") or "")
        return int(length) if length.isdigit() else None

    def _chunks(self) -> Iterable[bytes]:
        stream = self.environ["wsgi.input"]
        left = self._length()
        if left is None and not self.environ.get("wsgi.input_terminated"):
            return
        while left is None or left > 0:
            chunk = stream.read(READ_BYTES if left is None else min(READ_BYTES, left))
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)
            yield chunk

    def small_body(self) -> bytes:
        """The whole body in memory (an API call's JSON), left for moto to read again."""
        if self._small_body is None:
            self._small_body = b"".join(self._chunks())
            self.environ["wsgi.input"] = io.BytesIO(self._small_body)
            self.environ["CONTENT_LENGTH"] = str(len(self._small_body))
        return self._small_body

    def buffer(self, checksums: Iterable[str] = ()) -> dict[str, bytes]:
        """Read the whole body once (kept for moto to read again: nothing reaches moto before it is
        judged), and its digests by `CHECKSUMS` name."""
        digests = {name: CHECKSUMS[name]() for name in checksums}
        if self._buffer is None:
            buffer: IO[bytes] = SpooledTemporaryFile(max_size=IN_MEMORY_BYTES)  # noqa: SIM115 (moto reads it)
            for chunk in self._chunks():
                buffer.write(chunk)
                for digest in digests.values():
                    digest.update(chunk)
            self._buffer = buffer
            self.environ["CONTENT_LENGTH"] = str(buffer.tell())
        elif digests:
            self._buffer.seek(0)
            for chunk in iter(lambda: self._buffer.read(READ_BYTES), b""):  # type: ignore[union-attr]
                for digest in digests.values():
                    digest.update(chunk)
        self._buffer.seek(0)
        self.environ["wsgi.input"] = self._buffer
        return {name: digest.digest() for name, digest in digests.items()}

    def drain(self) -> None:
        """Read what the client sent and nobody read, so it hears the refusal rather than a reset."""
        if self._buffer is None and self._small_body is None:
            for _ in self._chunks():
                pass


def checksum_headers(received: Received) -> list[tuple[str, str]]:
    """(algorithm, base64 value) of each checksum header S3 verifies the body against."""
    wanted = [
        (name, value)
        for name in CHECKSUMS
        if name != "md5" and (value := received.header(f"x-amz-checksum-{name}")) is not None
    ]
    if (md5 := received.header("content-md5")) is not None:
        wanted.append(("md5", md5))
    return wanted


def mismatched_checksum(wanted: list[tuple[str, str]], computed: dict[str, bytes]) -> None:
    for name, declared in wanted:
        actual = base64.b64encode(computed[name]).decode()
        if declared.strip() != actual:
            if name == "md5":
                raise Refused(
                    400, "BadDigest", "The Content-MD5 you specified did not match what we received."
                )
            raise Refused(
                400, "BadDigest", f"The {name.upper()} you specified did not match the calculated checksum."
            )


class Refused(Exception):
    """A request AWS would refuse, and the answer it would give: S3's XML error or a JSON service's."""

    def __init__(self, status: int, code: str, message: str, s3: bool = True, **details: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.s3, self.details = status, code, message, s3, details

    def respond(self, received: Received, start_response: Callable[..., Any]) -> list[bytes]:
        request_id = uuid.uuid4().hex.upper()[:16]
        if self.s3:
            extra = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in self.details.items())
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{self.code}</Code><Message>{escape(self.message)}</Message>{extra}"
                f"<RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>"
            ).encode()
            headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
        else:
            body = json.dumps({"__type": self.code, "message": self.message}).encode()
            headers = [
                ("Content-Type", "application/x-amz-json-1.1"),
                ("x-amzn-RequestId", request_id),
                ("x-amzn-ErrorType", self.code),
            ]
        if origin := received.header("origin"):  # as moto's own answers (flask-cors): any origin
            headers += [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        if received.method == "HEAD":
            body = b""
        headers.append(("Content-Length", str(len(body))))
        reasons = {400: "Bad Request", 403: "Forbidden"}
        start_response(f"{self.status} {reasons.get(self.status, 'Error')}", headers)
        return [body]

    # --- the refusals of SigV4 checks, in S3's words (s3) or a JSON service's ---
    @classmethod
    def malformed(cls, s3: bool, why: str) -> Refused:
        if s3:
            return cls(400, "AuthorizationHeaderMalformed", f"The authorization header is malformed; {why}.")
        return cls(
            400, "IncompleteSignatureException", f"The request signature is malformed: {why}.", s3=False
        )

    @classmethod
    def query_parameters(cls, message: str) -> Refused:
        return cls(400, "AuthorizationQueryParametersError", message)

    @classmethod
    def unknown_access_key(cls, s3: bool, access_key_id: str) -> Refused:
        if s3:
            return cls(
                403,
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
                AWSAccessKeyId=access_key_id,
            )
        return cls._unrecognized()

    @classmethod
    def invalid_token(cls, s3: bool) -> Refused:
        if s3:
            return cls(400, "InvalidToken", "The provided token is malformed or otherwise invalid.")
        return cls._unrecognized()

    @classmethod
    def _unrecognized(cls) -> Refused:
        """A JSON service's answer to credentials it does not know, the key's or the token's alike."""
        return cls(
            400,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
            s3=False,
        )

    @classmethod
    def unsupported_signature(cls, s3: bool) -> Refused:
        if s3:
            return cls(
                400,
                "InvalidRequest",
                "The authorization mechanism you have provided is not supported. "
                "Please use AWS4-HMAC-SHA256.",
            )
        return cls(
            400, "IncompleteSignatureException", "Only AWS4-HMAC-SHA256 signatures are accepted.", s3=False
        )

    @classmethod
    def signature_mismatch(
        cls, s3: bool, access_key_id: str, string_to_sign: str, provided: str, canonical: str
    ) -> Refused:
        if s3:
            details = {
                "AWSAccessKeyId": access_key_id,
                "StringToSign": string_to_sign,
                "SignatureProvided": provided,
            }
            if canonical:  # a POST's string to sign is its policy: it has none
                details["CanonicalRequest"] = canonical
            return cls(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. "
                "Check your key and signing method.",
                True,
                **details,
            )
        return cls(
            400,
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS "
            "Secret Access Key and signing method. Consult the service documentation for details.",
            s3=False,
        )

    @classmethod
    def too_skewed(cls, s3: bool, timestamp: str) -> Refused:
        if s3:
            return cls(
                403,
                "RequestTimeTooSkewed",
                "The difference between the request time and the current time is too large.",
                RequestTime=timestamp,
                MaxAllowedSkewMilliseconds="900000",
            )
        return cls(
            400, "InvalidSignatureException", f"Signature expired: {timestamp} is now out of range.", s3=False
        )

    @classmethod
    def anonymous(cls, s3: bool) -> Refused:
        if s3:
            return cls(403, "AccessDenied", "Access Denied")
        return cls(
            400, "MissingAuthenticationTokenException", "Request is missing Authentication Token", s3=False
        )
