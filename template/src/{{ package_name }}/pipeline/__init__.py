"""Template-owned plumbing: stage protocols, the runner, the manifest and the contract model."""
