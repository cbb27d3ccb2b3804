"""The shared logger masks anything shaped like an upload token, wherever in a record it turns up."""

from __future__ import annotations

import io
import json

from aws_lambda_powertools import Logger

from upload_service.core.ids import generate_token, mask
from upload_service.core.observability import redacted_json


def test_a_token_in_an_exception_is_masked_in_the_log_line() -> None:
    token = generate_token()
    stream = io.StringIO()
    logger = Logger(service="redaction-test", stream=stream, json_serializer=redacted_json)

    try:
        raise ValueError(f"no such item: TOKEN {token} (key uploads/{token}/a.mp4)")
    except ValueError:
        logger.exception("unhandled error", extra={"seen": [token]})

    line = stream.getvalue()
    assert token not in line
    record = json.loads(line)
    assert f"TOKEN {mask(token)} (key uploads/{mask(token)}/a.mp4)" in record["exception"]
    assert record["seen"] == [mask(token)]


def test_masked_tokens_and_ordinary_text_are_left_alone() -> None:
    token = generate_token()
    longer = f"x{token}"  # a longer word is not a token
    record = {"message": "upload started", "token": mask(token), "note": f"tomorrow, totally, {longer}"}
    assert json.loads(redacted_json(record)) == record
