"""Engine implementations of the stage protocols. Only the chosen engine is rendered."""
