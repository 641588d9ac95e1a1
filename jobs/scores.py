"""spark-submit entry point for `klout scores`: `spark-submit jobs/scores.py [options of klout scores]`."""

import sys

from klout.cli import main

if __name__ == "__main__":
    sys.exit(main(["scores", *sys.argv[1:]]))
