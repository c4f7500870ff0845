"""`python -m pun ...` is `pun ...` (as `python -m pun.cli`), for a source checkout or a venv."""

import sys

from pun.cli.main import main

sys.exit(main())
