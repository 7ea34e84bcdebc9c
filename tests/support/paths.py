"""Where things are: the repository, its seeds, the saved-format fixtures, the shared data beside the repository."""

from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent
SEEDS = ROOT / "seeds"
DATA = TESTS / "data"  # indexes saved by earlier formats (data/README.md)
SHARED = ROOT.parent / "shared"  # ../shared, the data sets beside the repository
