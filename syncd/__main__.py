"""``python -m syncd`` runs the same command line as the ``syncd`` script."""

from syncd.cli import main

raise SystemExit(main())
