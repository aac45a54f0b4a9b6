"""``python -m bench [--quick] [--only NAMES] [--json FILE]``: run the performance suite."""

import sys

from bench.run import main

sys.exit(main())
