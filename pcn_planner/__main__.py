"""``python -m pcn_planner`` runs the command line."""

import sys

from pcn_planner.cli import main

sys.exit(main())
