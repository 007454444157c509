"""Aggregates the engine's GPU resources into the fleet view."""
