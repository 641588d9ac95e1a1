"""spark-submit entry point for `klout evaluate`: `spark-submit jobs/evaluate.py [options of klout evaluate]`."""

import sys

from klout.cli import main

if __name__ == "__main__":
    sys.exit(main(["evaluate", *sys.argv[1:]]))
