"""Where moto falls short of AWS or of a long-running server, mended in place, by concern:
`memory` (what grows with use), `dynamodb_requests` (idempotent transactions), `s3_objects`
(ranged reads, POST uploads, copies' conditions), `s3_multipart` (completions, part copies, uploads
no longer held, part checksums), `s3_notifications` (what an event names), `cognito` (how long
sign-in tokens live).

Each mend is held (`with mend.held():`), by the emulator while it runs or by a test while it needs
it, and undone when its last holder lets go (local_stack/patching.py); `held_all` holds them all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from local_stack.moto_fixes.cognito import tokens_live_as_their_client_says
from local_stack.moto_fixes.dynamodb_requests import (
    transactions_honour_client_request_tokens,
    transactions_may_conflict,
)
from local_stack.moto_fixes.memory import snapshot_only_touched_items, stop_tracking_instances
from local_stack.moto_fixes.s3_multipart import (
    complete_multipart_in_one_copy,
    part_checksums_as_s3_checks_them,
    part_copies_read_their_range,
    unknown_uploads_are_no_such_upload,
)
from local_stack.moto_fixes.s3_notifications import notifications_name_version_and_sequence
from local_stack.moto_fixes.s3_objects import (
    copies_honour_their_conditions,
    post_object_answers_like_s3,
    serve_ranges_from_the_buffer,
)

#: In the order they are installed: `unknown_uploads_are_no_such_upload` wraps the part copy that
#: `part_copies_read_their_range` replaces.
ALL = (
    part_copies_read_their_range,
    unknown_uploads_are_no_such_upload,
    copies_honour_their_conditions,
    snapshot_only_touched_items,
    stop_tracking_instances,
    serve_ranges_from_the_buffer,
    complete_multipart_in_one_copy,
    part_checksums_as_s3_checks_them,
    post_object_answers_like_s3,
    notifications_name_version_and_sequence,
    transactions_may_conflict,  # wrapped by the next: a call repeated with its token is answered first
    transactions_honour_client_request_tokens,
    tokens_live_as_their_client_says,
)


@contextmanager
def held_all() -> Iterator[None]:
    """Every mend of moto, for as long as the context lasts (the emulator holds them while it runs)."""
    with ExitStack() as held:
        for each in ALL:
            held.enter_context(each.held())
        yield
