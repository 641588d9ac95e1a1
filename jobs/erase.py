"""spark-submit entry point for `klout erase`: `spark-submit jobs/erase.py [options]` (see `klout erase --help`)."""

import sys

from klout.cli import main

if __name__ == "__main__":
    sys.exit(main(["erase", *sys.argv[1:]]))
