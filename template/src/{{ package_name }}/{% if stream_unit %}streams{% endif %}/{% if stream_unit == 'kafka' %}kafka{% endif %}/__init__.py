"""The Kafka stream: a consumer group member polling micro-batches (confluent-kafka)."""
