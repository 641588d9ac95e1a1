"""spark-submit entry point for `klout summary`: `spark-submit jobs/summary.py [options]`
(see `klout summary --help`)."""

import sys

from klout.cli import main

if __name__ == "__main__":
    sys.exit(main(["summary", *sys.argv[1:]]))
