"""Token logic: minting, visibility and listing. Plain functions over the token store (revoking, which
also decides a token's uploads, is in `revocation`)."""

from __future__ import annotations

from datetime import datetime

from upload_service.core.config import Settings
from upload_service.core.errors import ActiveTokenLimitReached, BadRequest, TokenNotFound
from upload_service.core.ids import generate_token, is_token_id, token_ref
from upload_service.core.models import ListTokensQuery, TokenDetail, TokenList, UploadInfo, UploadToken
from upload_service.core.records import TokenRecord, TokenStatus
from upload_service.data.tokens import CountedTokensChanged, TokenIdTaken, TokenStore
from upload_service.http.auth import Caller
from upload_service.tokens.pagination import build_pagination, page_window

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
    repo: TokenStore,
    caller: Caller,
    ttl: int | None,
    settings: Settings,
    now: datetime,
    max_duration_seconds: int | None = None,
) -> UploadToken:
    """A new token, counted against the caller's cap of live, unexpired tokens.

    The owner's counter also counts tokens that expired and await the cleanup; at the cap, up to
    MAX_FREED of those are read (one Query) and counted as free by the create's own transaction,
    which checks that each is still counted: the cap holds exactly while the cleanup ends them.
    Should the cleanup end some meanwhile, the rest are read again without those (so this ends).
    Ending them is left to the cleanup, so the work per request is bounded whatever
    the backlog, and parallel creates each get a true answer from one atomic conditional write.
    """
    granted = resolve_ttl(ttl, caller, settings)
    cap = settings.max_active_tokens
    try:
        return _create(repo, caller, granted, cap, now, max_duration_seconds=max_duration_seconds)
    except ActiveTokenLimitReached:
        pass
    ended: set[str] = set()
    while True:  # each turn returns, ends, or learns of more tokens ended (of finitely many)
        expired = [t for t in repo.some_expired_live(caller.user_id, now) if t.ref not in ended]
        if not expired and not ended:
            break  # nothing expired to count as free, nothing freed since: the first refusal stands
        try:
            return _create(repo, caller, granted, cap, now, expired, max_duration_seconds)
        except CountedTokensChanged as changed:
            ended |= changed.ended  # the cleanup ended them: their slots are free in the counter now
        except ActiveTokenLimitReached:
            break
    raise ActiveTokenLimitReached(detail=f"At most {cap} live tokens per user.")


def _create(
    repo: TokenStore,
    caller: Caller,
    ttl: int,
    cap: int,
    now: datetime,
    expired: list[TokenRecord] | None = None,
    max_duration_seconds: int | None = None,
) -> UploadToken:
    for _ in range(3):
        record = TokenRecord.new(generate_token(), caller.user_id, ttl, now, max_duration_seconds)
        try:
            repo.create_token(record, cap, expired)
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


def find_visible(repo: TokenStore, caller: Caller, token: str) -> TokenRecord:
    return _visible(repo.get_token(token) if is_token_id(token) else None, caller)


def token_detail(repo: TokenStore, caller: Caller, token: str, now: datetime) -> TokenDetail:
    """The token with its uploads (one Query), for its owner or an admin."""
    record, uploads = repo.get_token_with_uploads(token_ref(token)) if is_token_id(token) else (None, [])
    visible = _visible(record, caller)
    return TokenDetail(
        **UploadToken.from_record(visible, now).model_dump(),
        uploads=[UploadInfo.from_record(upload) for upload in sorted(uploads, key=lambda u: u.created_at)],
    )


def list_tokens(
    repo: TokenStore, caller: Caller, query: ListTokensQuery, settings: Settings, now: datetime
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
