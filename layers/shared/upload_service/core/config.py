"""Deployment settings, read from the environment once and validated at cold start."""

from __future__ import annotations

import os
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Settings(BaseModel):
    """Environment variables set by template.yaml (Globals and per-function Environment)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    ttl_default: int = Field(3600, alias="TOKEN_TTL_DEFAULT", ge=1)
    ttl_max: int = Field(86400, alias="TOKEN_TTL_MAX", ge=1)
    max_active_tokens: int = Field(100, alias="MAX_ACTIVE_TOKENS_PER_USER", ge=1)
    rate_limit_per_minute: int = Field(120, alias="RATE_LIMIT_PER_MINUTE", ge=1)
    admin_group: str = Field("admins", alias="ADMIN_GROUP", min_length=1)
    record_retention_days: int = Field(30, alias="RECORD_RETENTION_DAYS", ge=1)
    bucket_name: str = Field("", alias="BUCKET_NAME")
    max_upload_bytes: int = Field(1024**3, alias="MAX_UPLOAD_BYTES", ge=1)
    allowed_content_types: frozenset[str] = Field(frozenset(), alias="ALLOWED_CONTENT_TYPES")
    accept_unidentified_content: bool = Field(False, alias="ACCEPT_UNIDENTIFIED_CONTENT")
    uploads_per_token: int = Field(10, alias="UPLOADS_PER_TOKEN", ge=1)
    upload_attempts_per_token: int = Field(50, alias="UPLOAD_ATTEMPTS_PER_TOKEN", ge=1)
    upload_target_ttl: int = Field(900, alias="UPLOAD_TARGET_TTL", ge=1)
    upload_rate_limit_per_minute: int = Field(30, alias="UPLOAD_RATE_LIMIT_PER_MINUTE", ge=1)
    cleanup_batch_size: int = Field(200, alias="CLEANUP_BATCH_SIZE", ge=1)
    cleanup_grace_seconds: int = Field(600, alias="CLEANUP_GRACE_SECONDS", ge=0)
    event_bus_name: str = Field("default", alias="EVENT_BUS_NAME", min_length=1)
    problem_base_url: str = Field("https://docs.api.video/reference/", alias="PROBLEM_TYPE_BASE_URL")
    video_platform: Literal["none", "apivideo"] = Field("none", alias="VIDEO_PLATFORM")
    api_video_base_url: str = Field("https://ws.api.video", alias="API_VIDEO_BASE_URL")
    api_video_api_key_secret: str = Field("", alias="API_VIDEO_API_KEY_SECRET")
    forward_chunk_bytes: int = Field(
        50 * 1024**2, alias="FORWARD_CHUNK_BYTES", ge=5 * 1024**2, le=128 * 1024**2
    )
    forward_queue_url: str = Field("", alias="FORWARD_QUEUE_URL")

    @property
    def forwarding(self) -> bool:
        """Accepted uploads go on to api.video (VideoPlatform=apivideo)."""
        return self.video_platform == "apivideo"

    @property
    def upload_attempts(self) -> int:
        """Uploads one token may start in all: never fewer than it may have accepted."""
        return max(self.upload_attempts_per_token, self.uploads_per_token)

    @field_validator("allowed_content_types", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(item.strip().lower() for item in value.split(",") if item.strip())
        return value

    @model_validator(mode="after")
    def _default_within_max(self) -> Settings:
        if self.ttl_default > self.ttl_max:
            raise ValueError("TOKEN_TTL_DEFAULT must not exceed TOKEN_TTL_MAX")
        return self


@cache
def get_settings() -> Settings:
    """The process's settings; a missing or invalid variable fails here, at init."""
    return Settings.model_validate(dict(os.environ))
