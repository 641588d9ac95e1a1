"""spark-submit entry point for `klout graph`: `spark-submit jobs/graph.py [options of klout graph]`."""

import sys

from klout.cli import main

if __name__ == "__main__":
    sys.exit(main(["graph", *sys.argv[1:]]))
