"""The running framework's version, reported by `errbot -v` and `!about`."""

VERSION = "7.0.0"

# The Errbot release whose plugin API this project implements. A plugin's `[Errbot] Max` is
# checked against it: "works up to 6.x" plugins run here, since the 6.x API is what we offer.
ERRBOT_API_VERSION = "6.2.1"
