"""Where data goes: the seam every loader writes through, and one folder per destination."""
