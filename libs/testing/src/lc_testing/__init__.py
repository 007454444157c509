"""pytest fixtures that start real nats-server and PostgreSQL from their wheels."""
