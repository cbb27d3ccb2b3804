"""Requests handled at the same moment each see their own request: the local stack runs
invocations as threads of one process, where Powertools keeps the current request per process
(local_stack/powertools_fixes.py makes it per thread, as it is per execution environment on AWS)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.conftest import Stack, User
from tests.e2e.test_uploads import CLIP, start


def test_concurrent_uploads_each_get_their_own_target(
    stack: Stack, user: User, token_of: Callable[..., str]
) -> None:
    tokens = [token_of(user) for _ in range(4)]
    wanted = [(tokens[n % 4], f"clip-{n}.mp4") for n in range(12)]  # three uploads per token

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda job: start(stack, job[0], name=job[1], size=len(CLIP)), wanted))

    assert [answer.status_code for answer in answers] == [200] * 12
    assert [answer.json()["key"].rsplit("/", 1)[1] for answer in answers] == [name for _, name in wanted]


def test_concurrent_reads_each_answer_their_own_token(
    stack: Stack, user: User, token_of: Callable[..., str]
) -> None:
    tokens = [token_of(user) for _ in range(4)] * 4

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(
            pool.map(
                lambda token: requests.get(
                    f"{stack.api}/upload-tokens/{token}", headers=user.headers(), timeout=10
                ),
                tokens,
            )
        )

    assert [answer.json()["token"] for answer in answers] == tokens
