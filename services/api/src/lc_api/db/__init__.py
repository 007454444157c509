"""PostgreSQL: read-model tables, the projection that fills them, queries, migrations."""
