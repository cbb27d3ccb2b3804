"""Uppy's Companion S3 routes in the OpenAPI document (docs/large-uploads.md)."""

from __future__ import annotations

from typing import Any

from upload_service.openapi.parts import COMMON_ERRORS, TOKEN_PARAMETER, _json, _ok, _problem

UPLOAD_ID_PARAMETER = {
    "name": "uploadId",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "The upload's id, as `POST /s3/multipart` answered it.",
}
KEY_PARAMETER = {
    "name": "key",
    "in": "query",
    "required": True,
    "schema": {"type": "string"},
    "description": "The object key, as `POST /s3/multipart` answered it.",
}
TOKEN_ERRORS = {
    "404": _problem("No such live token, or no such open upload of it (another token's included)."),
    "429": _problem("Too many requests for this token."),
    "503": COMMON_ERRORS["503"],
}


def _companion(
    operation_id: str,
    summary: str,
    ok: dict[str, Any],
    errors: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One of Uppy's Companion S3 routes: no JWT (the token in the path is the credential)."""
    return {
        "operationId": operation_id,
        "summary": summary,
        "tags": ["Uppy Companion S3 routes"],
        "security": [],
        **extra,
        "responses": {
            "200": ok,
            "400": _problem("Invalid parameter or body."),
            **(errors or {}),
            **TOKEN_ERRORS,
        },
    }


#: S3's `x-amz-checksum-sha256`: the base64 of 32 bytes.
CHECKSUM_SCHEMA = {"type": "string", "minLength": 44, "maxLength": 44}


def companion_paths() -> dict[str, Any]:
    """Uppy's `@uppy/aws-s3` Companion routes under `/uploads/{uploadToken}` (docs/large-uploads.md)."""
    base = "/uploads/{uploadToken}/s3"
    file_query = (
        [
            {"name": name, "in": "query", "required": True, "schema": {"type": "string"}, "description": text}
            for name, text in (("filename", "The file's base name."), ("type", "Its content type."))
        ]
        + [
            {
                "name": name,
                "in": "query",
                "required": False,
                "schema": {"type": "integer"},
                "description": text,
            }
            for name, text in (
                (
                    "size",
                    "Its size in bytes, if known: the target takes at most that many (else MaxUploadBytes).",
                ),
                ("metadata[size]", "The same, as Uppy sends a `size` in the file's meta."),
            )
        ]
        + [
            {
                "name": name,
                "in": "query",
                "required": False,
                "schema": CHECKSUM_SCHEMA,
                "description": text,
            }
            for name, text in (
                (
                    "checksumSha256",
                    "The base64 of the file's SHA-256 (as S3's `x-amz-checksum-sha256`): the POST is bound to"
                    " it (fields `x-amz-checksum-algorithm`, `x-amz-checksum-sha256`): S3 refuses others.",
                ),
                (
                    "metadata[checksumSha256]",
                    "The same, as Uppy sends a `checksumSha256` in the file's meta.",
                ),
            )
        ]
    )
    limit = {"403": _problem("Every upload the token allows is taken.")}
    return {
        f"{base}/params": {
            "parameters": [TOKEN_PARAMETER],
            "get": _companion(
                "companionParams",
                "A presigned POST for one (small) file, as POST /upload",
                _ok("Where and how to send the file.", "PresignedPost"),
                limit,
                parameters=file_query,
            ),
        },
        f"{base}/multipart": {
            "parameters": [TOKEN_PARAMETER],
            "post": _companion(
                "companionCreateMultipart",
                "Start a multipart upload of one file",
                _ok("The upload started: its key and id.", "MultipartStarted"),
                limit,
                requestBody={"required": True, "content": {"application/json": _json("CompanionFile")}},
            ),
        },
        f"{base}/multipart/{{uploadId}}/batch": {
            "parameters": [TOKEN_PARAMETER, UPLOAD_ID_PARAMETER],
            "get": _companion(
                "companionSignParts",
                "Presigned PUTs for several parts",
                _ok("Part number -> URL.", "SignedParts"),
                parameters=[
                    KEY_PARAMETER,
                    {
                        "name": "partNumbers",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[0-9]+(,[0-9]+)*$"},
                        "description": "Comma-separated part numbers, at most 100: 1 up to what the declared"
                        " size can need (ceil(size / 5 MiB), at most 10000).",
                    },
                    {
                        "name": "checksumSha256",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "Comma-separated, in the order of `partNumbers`: each part's SHA-256"
                        " (base64). Required of an upload started with `checksumAlgorithm` SHA256, refused"
                        " of any other; each part's answer `headers` then carry it.",
                    },
                ],
            ),
        },
        f"{base}/multipart/{{uploadId}}/{{partNumber}}": {
            "parameters": [
                TOKEN_PARAMETER,
                UPLOAD_ID_PARAMETER,
                {
                    "name": "partNumber",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 10000},
                    "description": "1 up to what the declared size can need (ceil(size / 5 MiB)).",
                },
            ],
            "get": _companion(
                "companionSignPart",
                "A presigned PUT for one part",
                _ok("The part's URL.", "SignedPart"),
                parameters=[
                    KEY_PARAMETER,
                    {
                        "name": "size",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 5 * 1024**3},
                        "description": "The part's bytes, if known: the URL then signs that Content-Length,"
                        " and S3 refuses a body of another length.",
                    },
                    {
                        "name": "checksumSha256",
                        "in": "query",
                        "required": False,
                        "schema": CHECKSUM_SCHEMA,
                        "description": "The part's SHA-256 (base64): required of an upload started with"
                        " `checksumAlgorithm` SHA256, refused of any other. Signed into the URL as the"
                        " `x-amz-checksum-sha256` header the PUT must send (the answer's `headers`).",
                    },
                ],
            ),
        },
        f"{base}/multipart/{{uploadId}}": {
            "parameters": [TOKEN_PARAMETER, UPLOAD_ID_PARAMETER, KEY_PARAMETER],
            "get": _companion(
                "companionListParts",
                "The parts S3 holds (to resume)",
                _ok("The stored parts.", "StoredParts"),
            ),
            "delete": _companion(
                "companionAbort", "Abort the upload (EXPIRED)", _ok("Aborted: `{}`.", "Aborted")
            ),
        },
        f"{base}/multipart/{{uploadId}}/complete": {
            "parameters": [TOKEN_PARAMETER, UPLOAD_ID_PARAMETER, KEY_PARAMETER],
            "post": _companion(
                "companionComplete",
                "Complete the upload (its size counted from S3's part list)",
                _ok("Completed: the object is checked as it lands.", "Completed"),
                {"413": _problem("Larger than MaxUploadBytes: aborted, the upload REJECTED.")},
                requestBody={"required": True, "content": {"application/json": _json("CompleteRequest")}},
            ),
        },
    }
