"""The pipeline's own test suite."""
