"""The running framework's version, reported by `errbot -v` and `!about`."""

VERSION = "7.0.0"
