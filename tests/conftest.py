"""Shared pytest configuration: fixture plugins used across the test suite."""

pytest_plugins = ["template_fixtures"]
