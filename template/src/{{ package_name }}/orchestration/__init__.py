"""Thin adapters from orchestrators to the runner: no business logic lives here."""
