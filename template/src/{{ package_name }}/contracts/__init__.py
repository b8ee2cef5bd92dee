"""The team's dataset contracts: what the sources must deliver."""
