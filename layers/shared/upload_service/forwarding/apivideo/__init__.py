"""The api.video client: authentication, typed errors, and the chunked, resumable delegated upload.

    key = api_key(settings.api_video_secret)
    with outbound.deadline(outbound.lambda_remaining(context), margin=10):
        final = upload(client(base_url, key), source, upload_id=..., file_name=..., size=...,
                       chunk_bytes=..., progress=Progress(video_id, bytes_sent), on_chunk=record_progress)

Modules: `client` (endpoints, 401 -> one re-authentication), `auth` (bearer tokens), `errors`
(problem documents), `body` (the streamed, replayable chunk body), `upload` (the upload's one video,
chunking and resume), `key` (the API key from Secrets Manager).
"""

from upload_service.core.outbound import RetryLater
from upload_service.forwarding.apivideo.body import ByteSource, ChunkBody, Readable, SourceEndedEarly
from upload_service.forwarding.apivideo.client import PRODUCTION_URL, SANDBOX_URL, ApiVideoClient, client
from upload_service.forwarding.apivideo.errors import (
    ApiVideoError,
    ApiVideoFinalError,
    ApiVideoNotFound,
    ApiVideoUnauthorized,
    ApiVideoUnavailable,
)
from upload_service.forwarding.apivideo.key import ApiKeyUnavailable, api_key
from upload_service.forwarding.apivideo.upload import (
    UPLOAD_ID_KEY,
    Progress,
    chunk_ranges,
    media_metadata,
    upload,
    video_of,
)

__all__ = [
    "PRODUCTION_URL",
    "SANDBOX_URL",
    "UPLOAD_ID_KEY",
    "ApiKeyUnavailable",
    "ApiVideoClient",
    "ApiVideoError",
    "ApiVideoFinalError",
    "ApiVideoNotFound",
    "ApiVideoUnauthorized",
    "ApiVideoUnavailable",
    "ByteSource",
    "ChunkBody",
    "Progress",
    "Readable",
    "RetryLater",
    "SourceEndedEarly",
    "api_key",
    "chunk_ranges",
    "client",
    "media_metadata",
    "upload",
    "video_of",
]
