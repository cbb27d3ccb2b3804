"""Races and load through a local stack of its own, with an allowance and rate limits no user of the
shared test stack has: many uploads of one token landing at once (the stack's queue pollers run
batches side by side, as Lambda does), and six hundred start-then-reject cycles with the stack's
memory watched."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import Stack, User, new_user, running_stack
from tests.e2e.conftest import EventLog
from tests.e2e.test_uploads import CLIP, NOT_A_VIDEO, send, start
from tests.reliability.test_concurrency import stored_live_tokens
from tests.waiting import PATIENCE, eventually

ALLOWANCE = 50
CAP = 20
PARAMETERS = (
    f"UploadsPerToken={ALLOWANCE} UploadAttemptsPerToken=5000 UploadRateLimitPerMinute=100000 "
    f"RateLimitPerMinute=100000 MaxActiveTokensPerUser={CAP} MaxUploadBytes=1048576 "
    "UploadTargetTtlSeconds=900 CleanupGraceSeconds=0 CleanupSchedule='rate(1 day)'"
)


#: A fifth of DynamoDB transactions cancelled as if another met them (TransactionConflict), as on AWS
#: under contention: the landing, the cap and the leases must lose nothing and double nothing.
CONFLICTS = {"TRANSACTION_CONFLICT_RATE": "0.2"}


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("races"), PARAMETERS, CONFLICTS) as started:
        yield started


def conflicts_injected(stack: Stack, single: bool = False) -> int:
    """Conflicts the emulator injected so far: all, or those of single writes (a lease's, a claim's)."""
    return stack.log.read_text().count(
        "injected TransactionConflict (" if single else "injected TransactionConflict"
    )


def start_served(stack: Stack, token: str, name: str, wait_for_a_slot: bool = False) -> requests.Response:
    """POST /upload as a client does: a 503 (a transaction that kept conflicting, 5 tries) is retried
    after its Retry-After; with `wait_for_a_slot`, so is a 403 while every slot awaits a decision."""
    retried = {503, 403} if wait_for_a_slot else {503}
    return eventually(
        lambda: start(stack, token, name=name),
        lambda started: started.status_code not in retried,
        what=f"POST /upload of {name} served",
    )


def mint(stack: Stack, user: User) -> str:
    response = requests.post(
        f"{stack.api}/upload-tokens", json={"ttl": 3600}, headers=user.headers(), timeout=10
    )
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def view(stack: Stack, user: User, token: str) -> dict[str, Any]:
    response = requests.get(f"{stack.api}/upload-tokens/{token}", headers=user.headers(), timeout=30)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def settled(stack: Stack, user: User, token: str, count: int, timeout: float = PATIENCE) -> dict[str, Any]:
    """The token once `count` of its uploads are decided."""
    return eventually(
        lambda: view(stack, user, token),
        lambda seen: len(seen["uploads"]) >= count and all(u["status"] != "PENDING" for u in seen["uploads"]),
        what=f"{count} uploads decided",
        timeout=timeout,
        interval=0.25,
    )


def every_version(stack: Stack, prefix: str) -> list[str]:
    listed = stack.client("s3").list_object_versions(Bucket=stack.info["bucketName"], Prefix=prefix)
    return [entry["Key"] for entry in [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]]


@pytest.mark.parametrize("round_", range(3))
def test_fifty_uploads_of_one_token_landing_at_once_are_all_accepted(own_stack: Stack, round_: int) -> None:
    # given: a token allowing 50 uploads, and 50 targets handed out (a fifth of DynamoDB's
    # transactions cancelled as conflicting all along)
    conflicts_before = conflicts_injected(own_stack)
    user = new_user(own_stack)
    token = mint(own_stack, user)
    events = EventLog(own_stack)
    with ThreadPoolExecutor(max_workers=10) as pool:
        started = list(pool.map(lambda i: start_served(own_stack, token, f"clip {i}.mp4"), range(ALLOWANCE)))
    assert [response.status_code for response in started] == [200] * ALLOWANCE
    targets = [response.json() for response in started]
    # each file its own bytes, as long as declared
    contents = {t["uploadId"]: CLIP[:-32] + t["uploadId"].encode() for t in targets}

    # when: all 50 files land at once
    with ThreadPoolExecutor(max_workers=25) as pool:
        list(pool.map(lambda target: send(target, contents[target["uploadId"]]), targets))

    # then: every one ACCEPTED, the token FULL_UPLOAD, each file in media/ exactly as sent, once
    token_view = settled(own_stack, user, token, ALLOWANCE)
    outcomes = Counter((u["status"], u["reason"]) for u in token_view["uploads"])
    assert outcomes == {("ACCEPTED", None): ALLOWANCE}, outcomes
    eventually(  # closing follows the last decision
        lambda: view(own_stack, user, token)["status"], lambda status: status == "FULL_UPLOAD", what="closed"
    )
    s3 = own_stack.client("s3")
    bucket = own_stack.info["bucketName"]
    for target in targets:
        media = f"media/{user.sub}/{target['uploadId']}/{target['key'].rsplit('/', 1)[1]}"
        assert s3.get_object(Bucket=bucket, Key=media)["Body"].read() == contents[target["uploadId"]]
        assert every_version(own_stack, f"uploads/{target['uploadId']}/") == []
    assert len(every_version(own_stack, f"media/{user.sub}/")) == ALLOWANCE
    accepted = eventually(
        lambda: [
            e
            for e in events.drain()
            if e["detail"].get("uploadId") in contents and e["detail-type"] == "Upload Accepted"
        ],
        lambda accepted: len(accepted) >= ALLOWANCE,
        what="every Upload Accepted event",
    )
    assert sorted(e["detail"]["uploadId"] for e in accepted) == sorted(contents)
    assert {e["detail-type"] for e in accepted} == {"Upload Accepted"}
    assert token not in json.dumps(accepted)
    # and each forwarded once, to a video of its own, though the leases' writes met conflicts too
    forwarded = eventually(
        lambda: view(own_stack, user, token)["uploads"],
        lambda uploads: all((u.get("forwarding") or {}).get("status") == "FORWARDED" for u in uploads),
        what="every upload forwarded",
        timeout=3 * PATIENCE,
    )
    assert len({u["forwarding"]["videoId"] for u in forwarded}) == ALLOWANCE
    assert {u["forwarding"]["bytesSent"] for u in forwarded} == {len(CLIP)}
    assert conflicts_injected(own_stack) > conflicts_before  # the conflict paths did run
    assert conflicts_injected(own_stack, single=True) > 0


def test_creates_racing_at_the_cap_while_transactions_conflict_let_exactly_the_cap_through(
    own_stack: Stack,
) -> None:
    """Forty creates of one user at once, against a cap of twenty, with a fifth of the transactions
    cancelled as conflicting: twenty tokens, twenty refusals, nothing stored past the cap."""
    conflicts_before = conflicts_injected(own_stack)
    user = new_user(own_stack)

    def create(_: int) -> requests.Response:
        return eventually(  # a client retries a 503 (a transaction that kept conflicting)
            lambda: requests.post(
                f"{own_stack.api}/upload-tokens", json={"ttl": 600}, headers=user.headers(), timeout=60
            ),
            lambda answer: answer.status_code != 503,
            what="POST /upload-tokens served",
        )

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = Counter(answer.status_code for answer in pool.map(create, range(2 * CAP)))

    assert statuses == {200: CAP, 403: CAP}, statuses
    assert stored_live_tokens(own_stack, user) == CAP
    assert conflicts_injected(own_stack) > conflicts_before


def resident_megabytes(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_six_hundred_start_then_reject_cycles_keep_the_stack_flat(own_stack: Stack) -> None:
    """Each cycle: a target, then a file whose bytes are not the type declared (REJECTED), as a token holder
    can repeat. The records a token holds are bounded (UploadAttemptsPerToken), its view stays one
    bounded Query, and the stack's memory does not grow with the cycles."""
    user = new_user(own_stack)
    token = mint(own_stack, user)

    def cycle(i: int) -> None:
        started = start_served(own_stack, token, f"bad {i}.mp4", wait_for_a_slot=True)
        assert started.status_code == 200, started.text
        send(started.json(), NOT_A_VIDEO)

    def run(cycles: range) -> None:
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(cycle, cycles))
        settled(own_stack, user, token, cycles.stop, timeout=3 * PATIENCE)

    run(range(100))  # warm: every function's environments exist, caches are filled
    before = resident_megabytes(own_stack.pid)
    started = time.monotonic()
    run(range(100, 600))
    after = resident_megabytes(own_stack.pid)
    elapsed = time.monotonic() - started

    token_view = view(own_stack, user, token)
    assert len(token_view["uploads"]) == 600
    assert {u["status"] for u in token_view["uploads"]} == {"REJECTED"}
    print(f"\n500 cycles: {before:.0f} MB -> {after:.0f} MB resident, {elapsed:.1f} s")
    assert after - before < 25, (before, after)  # 50 KB a cycle at most (what it stores), not 17 MB
