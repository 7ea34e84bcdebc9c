"""Near-duplicate articles: a reprint is one story, a templated story about another event is not."""

import pytest

from semsearch import InputError
from semsearch.records import Fingerprint
from semsearch.text.dedup import DedupConfig, Deduplicator, band_keys, jaccard
from tests.support.corpora import NPC_2025, NPC_2026, REPRINT, STORY


def test_a_reprint_is_a_duplicate_and_a_templated_story_about_another_event_is_not():
    dedup = Deduplicator()
    assert dedup.check("story", STORY) is None
    found = dedup.check("reprint", REPRINT)
    assert (found.doc_id, found.of) == ("reprint", "story") and found.similarity >= 0.8
    assert dedup.check("copy", STORY.replace("\n", "\n\n  ")).similarity == 1.0  # same text once folded
    assert dedup.check("npc-2025", NPC_2025) is None
    assert jaccard(NPC_2025, NPC_2026) > 0.9  # nearly the same text…
    assert dedup.check("npc-2026", NPC_2026) is None  # …but another year's session
    assert len(dedup) == 3


def test_stored_fingerprints_find_duplicates_without_the_texts():
    first = Deduplicator()
    first.check("story", STORY)
    minhash, numbers = first.fingerprint("story")
    later = Deduplicator()
    later.keep_fingerprint("story", minhash, numbers)
    assert later.check("reprint", REPRINT).of == "story"


def test_band_keys_are_shared_exactly_by_the_candidates_lsh_finds():
    dedup = Deduplicator()
    for doc_id, text in [("story", STORY), ("npc-2025", NPC_2025)]:
        dedup.check(doc_id, text)
    reprint = dedup.signature(REPRINT)
    keys = set(band_keys(reprint.hashvalues, dedup.config))
    for doc_id in ("story", "npc-2025"):
        minhash, _ = dedup.fingerprint(doc_id)
        shared = keys & set(band_keys(minhash, dedup.config))  # from the stored bytes, as a store has them
        assert bool(shared) == (doc_id in dedup._lsh.query(reprint))
    assert "story" in dedup._lsh.query(reprint) and len(keys) == len(dedup._lsh.hashranges)


def test_stored_documents_are_looked_up_by_band_key_and_hidden_ones_ignored():
    first = Deduplicator()
    first.check("story", STORY)
    stored = {"story": Fingerprint("story", *first.fingerprint("story"))}
    asked: list[list[str]] = []

    def lookup(keys):
        asked.append(list(keys))
        mine = set(keys)
        return [f for f in stored.values() if mine & set(band_keys(f.minhash, first.config))]

    later = Deduplicator(stored=lookup)
    assert later.check("reprint", REPRINT).of == "story"
    assert asked[0] == band_keys(later.signature(REPRINT).hashvalues, later.config)
    assert later.check("npc-2025", NPC_2025) is None  # shares no band: nothing stored comes back
    replacing = Deduplicator(stored=lookup, hidden={"story"})  # the change replaces the stored story
    assert replacing.check("story", REPRINT) is None


@pytest.mark.parametrize("threshold", [0, 1.5, "0.8", True])
def test_bad_thresholds_are_input_errors(threshold):
    with pytest.raises(InputError, match="threshold"):
        DedupConfig(threshold=threshold)
