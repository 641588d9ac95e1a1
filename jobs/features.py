"""spark-submit entry point for `klout features`: `spark-submit jobs/features.py --date D [--end D2] [options]`."""

import sys

from klout.cli import main

if __name__ == "__main__":
    sys.exit(main(["features", *sys.argv[1:]]))
