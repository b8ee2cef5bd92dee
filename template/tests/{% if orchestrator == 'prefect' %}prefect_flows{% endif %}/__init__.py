"""Prefect flows under a temporary local Prefect API."""
