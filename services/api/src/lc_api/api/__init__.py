"""HTTP adapter: routes, dependencies, problem+json errors, middleware."""
