"""spark-submit entry point for `klout score`: `spark-submit jobs/score.py [options of klout score]`."""

import sys

from klout.cli import main

if __name__ == "__main__":
    sys.exit(main(["score", *sys.argv[1:]]))
