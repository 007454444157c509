"""`python -m lc_clustersim ...` runs the simulator CLI."""

from lc_clustersim.cli import main

raise SystemExit(main())
