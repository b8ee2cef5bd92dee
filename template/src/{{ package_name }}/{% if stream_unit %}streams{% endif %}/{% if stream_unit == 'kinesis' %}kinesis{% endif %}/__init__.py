"""The Kinesis stream source: boto3 reading the shards this replica owns, KPL-aggregated
records de-aggregated, bad records to a dead-letter stream (see consumer.py)."""
