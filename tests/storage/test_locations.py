"""Where an index lives: a directory or a Milvus location, parsed once, credentials never shown."""

import pytest

from semsearch.errors import InputError
from semsearch.storage.locations import is_milvus_location, parse_location


def test_locations_parse_and_never_show_credentials(monkeypatch):
    monkeypatch.delenv("SEMSEARCH_MILVUS_TOKEN", raising=False)
    lite = parse_location("milvus-lite:indexes/news.db#seeds")
    assert (lite.lite, lite.uri, lite.collection) == (True, "indexes/news.db", "seeds")
    assert str(lite) == "milvus-lite:indexes/news.db#seeds"
    server = parse_location("milvus://alice:s3cret@db.example:19531#news")
    assert (server.uri, server.collection, server.token) == (
        "http://db.example:19531",
        "news",
        "alice:s3cret",
    )
    assert "s3cret" not in str(server) and "s3cret" not in repr(server)
    assert parse_location("milvus://db.example#news").uri == "http://db.example:19530"
    assert parse_location("milvus+https://db.example:443#news").uri == "https://db.example:443"
    monkeypatch.setenv("SEMSEARCH_MILVUS_TOKEN", "api-key")
    assert parse_location("milvus://db.example#news").token == "api-key"
    assert is_milvus_location("milvus-lite:x.db#a") and not is_milvus_location("indexes/seeds")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("milvus://host:19530", "names no valid collection"),
        ("milvus://host:19530#9lives", "names no valid collection"),
        ("milvus://host:19530#my__index", "may not contain '__'"),
        ("milvus-lite:news#seeds", "ending in .db"),
        ("milvus://#seeds", "no HOST"),
        ("milvus://host:port#seeds", "port is not a number"),
    ],
)
def test_malformed_locations_are_clear_errors(value, message):
    with pytest.raises(InputError, match=message):
        parse_location(value)


@pytest.mark.parametrize(
    "value",
    [
        "milvus://alice:s3cret@db.example:99999#news",  # a port out of range
        "milvus://alice:s3cret@db.example:port#news",  # a port that is no number
        "milvus://alice:s3cret@db.example:19530#9news",  # a bad collection
        "milvus://alice:s3cret@db.example:19530",  # no collection
        "milvus://alice:s3cret@db.example:19530/path#news",  # a path after the host
        "milvus://alice:s3cret@:19530#news",  # an empty host
        "milvus://alice:s3cret@[::1#news",  # a malformed IPv6 address
        "milvus+https://alice:s3cret@[fe80::1%eth0#news",
        "milvus://alice:s3#cret@db.example:19530#news",  # a password holding '#'
        "milvus://alice:s3@cret@db.example:99999#news",  # and '@'
    ],
)
def test_a_malformed_location_never_shows_its_password(value, monkeypatch):
    """Issue 24, item 7: parse errors showed the whole URI, password included; bad IPv6 was a traceback."""
    monkeypatch.delenv("SEMSEARCH_MILVUS_TOKEN", raising=False)
    with pytest.raises(InputError) as caught:
        parse_location(value)
    message = str(caught.value)
    assert "s3cret" not in message and "s3#cret" not in message and "cret@" not in message
    assert "***@" in message or "collection" in message
    assert "\n" not in message


def test_a_well_formed_ipv6_location_parses():
    assert parse_location("milvus://alice:s3cret@[::1]:19531#news").uri == "http://[::1]:19531"
