"""The OpenAPI 3.1 document of the HTTP API, built from the same models the handlers use; the
Companion routes' paths are in `companion`, what every path shares in `parts`.

Not imported by the functions: the local stack serves it at /openapi.json and the tests
validate the handlers' responses against it.
"""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from upload_service.core.models import (
    CreateTokenRequest,
    ListTokensQuery,
    Problem,
    TokenDetail,
    TokenList,
    UploadToken,
)
from upload_service.multipart.wire import (
    Aborted,
    CompanionFile,
    Completed,
    CompleteRequest,
    MultipartStarted,
    PresignedPost,
    SignedPart,
    SignedParts,
    StoredParts,
)
from upload_service.openapi.companion import companion_paths
from upload_service.openapi.parts import COMMON_ERRORS, REF, TOKEN_PARAMETER, _json, _ok, _problem
from upload_service.uploads.file_rules import StartUploadRequest, UploadRules, UploadTarget


def _query_parameters() -> list[dict[str, Any]]:
    schema = ListTokensQuery.model_json_schema(ref_template=REF)
    parameters = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        if "$ref" in prop:  # enums: inline them, query parameters can't point at a model
            prop = schema["$defs"][prop.pop("$ref").rsplit("/", 1)[1]] | prop
        prop.pop("title", None)
        description = prop.pop("description", None)
        parameter = {"name": name, "in": "query", "required": False, "schema": prop}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def build_document() -> dict[str, Any]:
    _, components = models_json_schema(
        [
            (CreateTokenRequest, "validation"),
            (UploadToken, "serialization"),
            (TokenList, "serialization"),
            (TokenDetail, "serialization"),
            (StartUploadRequest, "validation"),
            (UploadTarget, "serialization"),
            (UploadRules, "serialization"),
            (Problem, "serialization"),
            (CompanionFile, "validation"),
            (CompleteRequest, "validation"),
            (PresignedPost, "serialization"),
            (MultipartStarted, "serialization"),
            (SignedPart, "serialization"),
            (SignedParts, "serialization"),
            (StoredParts, "serialization"),
            (Completed, "serialization"),
            (Aborted, "serialization"),
        ],
        ref_template=REF,
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Upload-token service",
            "version": "1.0.0",
            "description": "Delegated upload tokens in api.video's wire format.",
        },
        "security": [{"cognitoJwt": []}],
        "paths": {
            "/upload-tokens": {
                "post": {
                    "operationId": "createToken",
                    "summary": "Generate an upload token",
                    "requestBody": {
                        "required": False,
                        "content": {"application/json": _json("CreateTokenRequest")},
                    },
                    "responses": {
                        "200": _ok("The new token.", "UploadToken"),
                        "400": _problem("Invalid ttl, maxDurationSeconds or body."),
                        "403": _problem("The caller holds the maximum number of live tokens."),
                        **COMMON_ERRORS,
                    },
                },
                "get": {
                    "operationId": "listTokens",
                    "summary": "List all active upload tokens",
                    "parameters": _query_parameters(),
                    "responses": {
                        "200": _ok("A page of live tokens.", "TokenList"),
                        "400": _problem("Invalid query parameter."),
                        **COMMON_ERRORS,
                    },
                },
            },
            "/upload-tokens/{uploadToken}": {
                "parameters": [TOKEN_PARAMETER],
                "get": {
                    "operationId": "getToken",
                    "summary": "Show upload token",
                    "responses": {
                        "200": _ok("The token and its uploads.", "TokenDetail"),
                        "404": _problem("No such token, or not the caller's."),
                        **COMMON_ERRORS,
                    },
                },
                "delete": {
                    "operationId": "deleteToken",
                    "summary": "Delete (revoke) an upload token",
                    "responses": {
                        "204": _ok("Revoked.", None),
                        "404": _problem("No such token, or not the caller's."),
                        **COMMON_ERRORS,
                    },
                },
            },
            "/upload": {
                "post": {
                    "operationId": "startUpload",
                    "summary": "Upload with an upload token: get a presigned S3 POST for one file",
                    "security": [],
                    "parameters": [
                        {
                            "name": "token",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string"},
                            "description": "The upload token: it is the credential.",
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": _json("StartUploadRequest")},
                    },
                    "responses": {
                        "200": _ok("Where and how to send the file.", "UploadTarget"),
                        "400": _problem("Invalid file name, size, content type or body."),
                        "403": _problem("Every upload the token allows is taken."),
                        "404": _problem("No such live token."),
                        "429": _problem("Too many requests for this token."),
                        "503": COMMON_ERRORS["503"],
                    },
                }
            },
            "/uploads/{uploadToken}": {
                "parameters": [TOKEN_PARAMETER],
                "get": {
                    "operationId": "uploadRules",
                    "summary": "What the token may still upload: a frontend's uploader restrictions",
                    "security": [],
                    "responses": {
                        "200": _ok("Its expiry, uploads left, size limit and allowed types.", "UploadRules"),
                        "404": _problem("No such live token (the title says if it expired or was revoked)."),
                        "429": _problem("Too many requests for this token."),
                        "503": COMMON_ERRORS["503"],
                    },
                },
            },
            **companion_paths(),
        },
        "components": {
            "schemas": components["$defs"],
            "securitySchemes": {"cognitoJwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
