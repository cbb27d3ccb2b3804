"""The large-uploads bench still runs, reduced: calls and DynamoDB work per multipart upload of 1 and 2
parts, counted as `make bench` counts them (the functions in process against moto, in a child
process). This checks that the bench works and that its formulas hold, not how fast anything is.
"""

from __future__ import annotations

from benchmarks import multipart_calls, multipart_setup
from upload_service.core.records import Media
from upload_service.uploads.media.probe import check
from upload_service.uploads.media.reading import BytesSource


def test_batch_signing_keeps_an_uploads_calls_flat_in_its_parts() -> None:
    # when
    rows = multipart_calls.calls_rows(multipart_calls.measure_calls((1, 2)))

    # then
    by_parts = rows["multipart_calls"]
    assert [row["parts"] for row in by_parts] == [1, 2]
    for row in by_parts:
        assert row["api_requests"] == 3  # start, one batch, complete
        assert row["signing_requests"] == 1
        assert row["unbatched_signing_requests"] == row["parts"]
        assert row["goal"].endswith(": met"), row
    one, two = by_parts
    assert one["dynamodb_calls"] == two["dynamodb_calls"] > 0
    assert two["unbatched_signing_dynamodb_calls"] == 2 * one["unbatched_signing_dynamodb_calls"]
    routes = {row["route"] for row in rows["multipart_calls_by_route"]}
    assert routes == {
        "POST /multipart",
        "GET /multipart/{uploadId}/batch",
        "GET /multipart/{uploadId}/{partNumber}",
        "POST /multipart/{uploadId}/complete",
        "landing (process-upload)",
    }


def test_content_is_a_well_formed_mp4_and_parts_cover_it() -> None:
    data = multipart_setup.content(3 * 1024 + 10)
    assert isinstance(check(BytesSource(data), len(data), "video/mp4"), Media)
    assert len(data) == 3 * 1024 + 10
    assert b"".join(multipart_setup.parts_of(data, 1000)) == data
    assert multipart_setup.batches(250) == [
        ",".join(map(str, range(1, 101))),
        ",".join(map(str, range(101, 201))),
        ",".join(map(str, range(201, 251))),
    ]
