"""Looking at past runs: their manifests and quarantined rows, read back from the runs folder
(`runs` commands of the CLI). Reading only: nothing here writes to the runs folder."""
