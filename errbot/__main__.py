"""`python -m errbot` runs the `errbot` command."""

import sys

from errbot.cli import main

if __name__ == "__main__":
    sys.exit(main())
