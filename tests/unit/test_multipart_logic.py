"""The Companion routes' pure parts: part numbers, and which requests count in which rate window."""

from __future__ import annotations

import pytest

from upload_service.core.errors import BadRequest
from upload_service.multipart import companion


@pytest.mark.parametrize("value", ["1", "42", "10000", "00007"])
def test_part_numbers_from_1_to_10000(value: str) -> None:
    assert companion.part_number(value) == int(value)


@pytest.mark.parametrize("value", ["0", "10001", "99999", "abc", "", "-1", "1.0", " 1", "１", "100000"])
def test_other_part_numbers_are_a_400(value: str) -> None:
    with pytest.raises(BadRequest) as refused:
        companion.part_number(value)
    assert refused.value.name == "partNumber"


def test_a_batch_names_1_to_100_valid_parts() -> None:
    assert companion.part_numbers("1,2, 3") == [1, 2, 3]
    for bad in (None, "", "1,,2", "1,0", ",".join(str(n) for n in range(1, 102))):
        with pytest.raises(BadRequest) as refused:
            companion.part_numbers(bad)
        assert refused.value.name == "partNumbers"
