"""spark-submit entry point for `klout daily`: `spark-submit jobs/daily.py [options of klout daily]`."""

import sys

from klout.cli import main

if __name__ == "__main__":
    sys.exit(main(["daily", *sys.argv[1:]]))
