"""The damage property of tests/index/test_damaged_index.py at length: 400 damaged indexes."""

from __future__ import annotations

from hypothesis import given, settings

from tests.support.damage import SETTINGS, check, damages


@settings(max_examples=400, **SETTINGS)
@given(how=damages())
def test_a_damaged_index_loads_or_raises_a_semsearch_error_many_times(saved_seeds_index, how):
    check(saved_seeds_index, how)


@settings(max_examples=200, **SETTINGS)
@given(how=damages())
def test_a_damaged_format_1_index_loads_or_raises_a_semsearch_error_many_times(seeds_format1, how):
    check(seeds_format1, how)
