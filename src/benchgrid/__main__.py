"""``python -m benchgrid`` is the ``benchgrid`` command."""

import sys

from .cli.main import main

sys.exit(main())
