"""The lc CLI: the embedded stack (lc up), replay and the simulator."""
