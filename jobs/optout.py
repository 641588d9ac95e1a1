"""spark-submit entry point for `klout optout`: `spark-submit jobs/optout.py [options]` (see `klout optout --help`)."""

import sys

from klout.cli import main

if __name__ == "__main__":
    sys.exit(main(["optout", *sys.argv[1:]]))
