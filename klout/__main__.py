"""`python -m klout` is the `klout` command."""

import sys

from klout.cli import main

sys.exit(main())
