"""The embedding cache's files: created for this user alone, and a cache others can write is warned about.

Whoever can write the cache can plant a vector for any text, which a build would then index.
"""

from __future__ import annotations

import logging
import stat

import numpy as np

from semsearch import EmbeddingCache

LOGGER = "semsearch.encoders.cache_dirs"


def _use(path):
    cache = EmbeddingCache(path)
    cache.put_many("enc", ["正文"], np.ones((1, 4), dtype=np.float32))
    assert list(cache.get_many("enc", ["正文"], 4)) == ["正文"]
    cache.close()


def test_the_embedding_cache_is_created_for_this_user_alone(tmp_path):
    path = tmp_path / "cache" / "embeddings.sqlite"
    _use(path)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_embedding_cache_others_can_write_is_warned_about_once(tmp_path, caplog):
    path = tmp_path / "cache" / "embeddings.sqlite"
    _use(path)
    path.parent.chmod(0o777)
    path.chmod(0o666)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        _use(path)
        _use(path)
    warnings = [r.getMessage() for r in caplog.records if r.name == LOGGER]  # not other threads' records
    assert len(warnings) == 2  # the folder and the file, once each
    assert all("writable by others" in w and "\n" not in w for w in warnings)
    assert str(path.parent) in warnings[0] and str(path) in warnings[1]
