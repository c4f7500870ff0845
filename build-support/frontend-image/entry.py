"""The frozen `pun` executable's entry point (the frontend image's Entrypoint)."""

import sys

from pun.cli import main

sys.exit(main())
