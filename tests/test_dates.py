"""Dates as news sources write them, read as one day (YYYY-MM-DD)."""

import datetime as dt

import pytest

from semsearch import InputError
from semsearch.dates import next_day, normalize_date, parse_day


@pytest.mark.parametrize(
    ("value", "day"),
    [
        ("2024-06-25", "2024-06-25"),
        ("2024-06-25T23:30:00+08:00", "2024-06-25"),  # the day as written, not converted to UTC
        ("2024/6/5", "2024-06-05"),
        ("2024.06.25 10:00", "2024-06-25"),
        ("2024年6月25日", "2024-06-25"),
        ("2024年06月25日 08:00", "2024-06-25"),
        ("20240625", "2024-06-25"),
        ("Tue, 25 Jun 2024 08:00:00 GMT", "2024-06-25"),
        (1719273600, "2024-06-25"),
        (1719273600000, "2024-06-25"),
        ("1719273600", "2024-06-25"),
        (dt.date(2024, 6, 25), "2024-06-25"),
        ("2024-13-01", None),
        ("June", None),
        ("", None),
        (True, None),
        (42, None),
        (None, None),
    ],
)
def test_normalize_date(value, day):
    assert normalize_date(value) == day


def test_parse_day_and_next_day():
    assert parse_day("2024/2/28", "--since") == "2024-02-28"
    assert next_day("2024-02-28") == "2024-02-29"
    with pytest.raises(InputError, match=r"--until 'soon' is not a date; write it as YYYY-MM-DD"):
        parse_day("soon", "--until")
