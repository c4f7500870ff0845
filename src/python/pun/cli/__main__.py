"""`python -m pun.cli ...` is `pun ...`."""

import sys

from pun.cli.main import main

sys.exit(main())
