"""The forwarding bench still runs, reduced: calls per upload for files of 1 and 2 chunks, and one
round of the throughput and memory part for a 12 MiB file in 5 MiB chunks.

Both run as `make bench` runs them, in child processes (moto and the api.video double included);
this checks that the bench works and that its formulas hold, not how fast anything is.
"""

from __future__ import annotations

from benchmarks import forwarding, forwarding_setup


def test_calls_per_forwarded_upload_follow_its_chunks() -> None:
    # when
    rows = forwarding.measure_calls((1, 2))

    # then
    assert [row["chunks"] for row in rows] == [1, 2]
    # the lease, the video's record (before any byte), the finish, the outcome event's claim
    assert rows[0]["writes_minus_chunks"] == rows[1]["writes_minus_chunks"] == 4
    # GET /videos (an earlier video?), POST /videos, the upload token made and deleted; the sign-in once
    assert [row["api_video_calls"] - row["chunks"] for row in rows] == [4 + 1, 4]
    for row in rows:
        assert row["s3_get_object"] == row["chunks"]
        assert row["upload_requests"] == row["chunks"]
        assert row["eventbridge_calls"] == 1
        assert row["goal"].endswith(": met"), row


def test_throughput_and_memory_come_out_of_a_small_run() -> None:
    # when: the sha256 of both sides' videos is checked inside
    figures = forwarding.measure_throughput(file_mib=12, rounds=1, chunk_bytes=5 * forwarding_setup.MIB)

    # then
    rows = figures["throughput"]
    assert len(rows) == 4
    assert rows[0]["ratio"] == 1.0
    assert all(row["seconds"] > 0 for row in rows)
    assert "3 chunks" in rows[1]["path"]
    (memory,) = figures["memory"]
    assert memory["peak_rss_mib"] >= memory["rss_before_mib"] >= memory["rss_imports_mib"] > 0
    assert memory["bound_mib"] == 85
