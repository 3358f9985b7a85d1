"""``python -m tcpbook`` is the ``tcpbook`` command."""

import sys

from .cli import main

sys.exit(main())
