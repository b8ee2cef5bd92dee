"""The S3 destination: a Delta Lake table in an S3 bucket."""
