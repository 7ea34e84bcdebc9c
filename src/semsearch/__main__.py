"""``python -m semsearch`` runs the ``semsearch`` command."""

import sys

from .cli import main

sys.exit(main())
