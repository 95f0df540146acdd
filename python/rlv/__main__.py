"""``python -m rlv``: same as the ``rlv`` command."""

import sys

from rlv.cli import main

sys.exit(main())
