"""Where data goes: one module per system."""
