"""The engine-neutral half of every engine's loader and quarantine writer."""
