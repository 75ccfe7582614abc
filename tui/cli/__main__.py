"""`python -m comentor.tui.cli`: the same as the `comentor` command."""

import sys

from . import main

sys.exit(main())
