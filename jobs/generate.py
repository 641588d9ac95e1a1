"""spark-submit entry point for `klout generate`: `spark-submit jobs/generate.py [options]`
(see `klout generate --help`)."""

import sys

from klout.cli import main

if __name__ == "__main__":
    sys.exit(main(["generate", *sys.argv[1:]]))
