"""Token logic: minting, visibility, revocation and listing. Plain functions over a Repository."""

from __future__ import annotations

from datetime import datetime, timedelta

from upload_service.auth import Caller
from upload_service.config import Settings
from upload_service.errors import ActiveTokenLimitReached, BadRequest, TokenNotFound
from upload_service.expiry import time_out_expired
from upload_service.ids import generate_token, is_token_id
from upload_service.models import (
    ListTokensQuery,
    TokenDetail,
    TokenList,
    TokenRecord,
    TokenStatus,
    UploadInfo,
    UploadToken,
)
from upload_service.pagination import build_pagination, page_window
from upload_service.repository import Repository, TokenIdTaken
from upload_service.storage import Storage

LIST_PATH = "/upload-tokens"


def resolve_ttl(requested: int | None, caller: Caller, settings: Settings) -> int:
    """The ttl to grant: the default when none asked; 0 (never expires) only for admins."""
    if requested is None:
        return settings.ttl_default
    if requested == 0:
        if caller.is_admin:
            return 0
        raise BadRequest.single("ttl", "Only admins may create tokens that never expire (ttl 0).")
    if requested < 0:
        raise BadRequest.single("ttl", "ttl must be a positive number of seconds.")
    if requested > settings.ttl_max:
        raise BadRequest.single("ttl", f"ttl must be at most {settings.ttl_max} seconds.")
    return requested


def mint(
    repo: Repository, storage: Storage, caller: Caller, ttl: int | None, settings: Settings, now: datetime
) -> UploadToken:
    """A new token, counted against the caller's cap. At the cap, the caller's tokens that expired
    but were not cleaned up yet are timed out first, as cleanup would (so one whose upload is still
    in flight keeps its slot until its grace ends), then the create is tried again."""
    granted = resolve_ttl(ttl, caller, settings)
    try:
        return _create(repo, caller, granted, settings, now)
    except ActiveTokenLimitReached:
        freed = False
        for record in repo.expired_live(caller.user_id, now):
            ended, _ = time_out_expired(repo, storage, record, settings, now)
            freed = freed or ended
        if not freed:
            raise
        return _create(repo, caller, granted, settings, now)


def _create(repo: Repository, caller: Caller, ttl: int, settings: Settings, now: datetime) -> UploadToken:
    for _ in range(3):
        record = TokenRecord.new(generate_token(), caller.user_id, ttl, now)
        try:
            repo.create_token(record, settings.max_active_tokens)
        except TokenIdTaken:
            continue
        return UploadToken.from_record(record, now)
    raise RuntimeError("could not generate an unused token id")


def _visible(record: TokenRecord | None, caller: Caller) -> TokenRecord:
    """The token if the caller may see it: its owner or an admin; revoked tokens are gone."""
    if record is None or record.status is TokenStatus.DELETED:
        raise TokenNotFound()
    if not caller.is_admin and record.user_id != caller.user_id:
        raise TokenNotFound()  # never reveal that another user's token exists
    return record


def find_visible(repo: Repository, caller: Caller, token: str) -> TokenRecord:
    return _visible(repo.get_token(token) if is_token_id(token) else None, caller)


def token_detail(repo: Repository, caller: Caller, token: str, now: datetime) -> TokenDetail:
    """The token with its uploads (one Query), for its owner or an admin."""
    record, uploads = repo.get_token_with_uploads(token) if is_token_id(token) else (None, [])
    visible = _visible(record, caller)
    return TokenDetail(
        **UploadToken.from_record(visible, now).model_dump(),
        uploads=[UploadInfo.from_record(upload) for upload in sorted(uploads, key=lambda u: u.created_at)],
    )


def revoke(repo: Repository, caller: Caller, token: str, settings: Settings, now: datetime) -> None:
    """Revoke at once: the token leaves the live indexes and its owner's count in one transaction."""
    retention = timedelta(days=settings.record_retention_days)
    for _ in range(3):
        record = find_visible(repo, caller, token)
        if repo.end_token(record, TokenStatus.DELETED, now, retention):
            return
    raise TokenNotFound()  # revoked concurrently by someone else


def list_tokens(
    repo: Repository, caller: Caller, query: ListTokensQuery, settings: Settings, now: datetime
) -> TokenList:
    """A page of live tokens: everyone's for admins (or one user's with `userId`), else the caller's."""
    if query.user_id is not None and not caller.is_admin and query.user_id != caller.user_id:
        raise BadRequest.single("userId", "Only admins may list another user's tokens.")
    owner = query.user_id if caller.is_admin else caller.user_id
    total = repo.count_live(owner, now)
    window = page_window(total, query.current_page, query.page_size)
    records = (
        repo.list_live(owner, query.sort_by, query.sort_order, window.skip, window.take, now)
        if window.take
        else []
    )
    extra = query.model_dump(include={"sort_by", "sort_order", "user_id"}, exclude_unset=True, mode="json")
    return TokenList(
        data=[UploadToken.from_record(record, now) for record in records],
        pagination=build_pagination(
            LIST_PATH, total, query.current_page, query.page_size, len(records), extra_query=extra
        ),
    )
