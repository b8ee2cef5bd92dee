"""The PostgreSQL destination: one table, merged on the key in one transaction per run."""
