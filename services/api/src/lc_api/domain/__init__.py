"""Pure decide/evolve for lcd's aggregates (project, service, domain). No I/O, no framework."""
