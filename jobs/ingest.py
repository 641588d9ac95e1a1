"""spark-submit entry point for `klout ingest`: `spark-submit jobs/ingest.py [options]` (see `klout ingest --help`)."""

import sys

from klout.cli import main

if __name__ == "__main__":
    sys.exit(main(["ingest", *sys.argv[1:]]))
