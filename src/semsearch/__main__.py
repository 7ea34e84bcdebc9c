"""``python -m semsearch`` runs the ``semsearch`` command."""

import sys

from semsearch.cli import main

sys.exit(main())
