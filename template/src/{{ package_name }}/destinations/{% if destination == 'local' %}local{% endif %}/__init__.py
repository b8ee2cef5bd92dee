"""The local destination: a Delta Lake table in a folder."""
