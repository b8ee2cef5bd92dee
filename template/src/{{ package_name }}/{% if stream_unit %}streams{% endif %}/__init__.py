"""Where a streaming pipeline's records come from: one folder per broker."""
