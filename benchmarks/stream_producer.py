"""Fill a fresh topic for the stream benchmark: create `<topic>` (4 partitions) and
`<topic>.dlq` on a broker, then produce every line of a file of `<partition>\t<JSON>` lines as one
record to that partition (each partition keeps file order), through an idempotent
producer batching large. Runs under the rendered project's interpreter (it has
confluent-kafka; the repository's dev environment does not).

    python benchmarks/stream_producer.py --bootstrap HOST:PORT --topic T --records FILE
"""

from __future__ import annotations

import argparse
import sys
import time

from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

PARTITIONS = 4


def create_topics(bootstrap: str, topic: str) -> None:
    """The topic and its dead-letter topic, retried while the broker is starting."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + 30
    while True:
        try:
            admin.list_topics(timeout=5)
            break
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    futures = admin.create_topics(
        [NewTopic(topic, num_partitions=PARTITIONS), NewTopic(f"{topic}.dlq", num_partitions=1)]
    )
    for future in futures.values():
        future.result(timeout=10)


def produce(bootstrap: str, topic: str, path: str) -> int:
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "linger.ms": 50,
            "batch.size": 1 << 20,
            "batch.num.messages": 10_000,
            "queue.buffering.max.messages": 500_000,
            "queue.buffering.max.kbytes": 1 << 20,
        }
    )
    count = 0
    with open(path, "rb") as records:
        for line in records:
            partition, _, value = line.rstrip(b"\n").partition(b"\t")
            while True:
                try:
                    producer.produce(topic, value=value, partition=int(partition))
                    break
                except BufferError:
                    producer.poll(0.05)
            count += 1
    if producer.flush(300):
        raise RuntimeError(f"records to {topic} were not all delivered")
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--records", required=True, help="<partition>\\t<JSON> lines")
    args = parser.parse_args(argv)
    create_topics(args.bootstrap, args.topic)
    started = time.perf_counter()
    count = produce(args.bootstrap, args.topic, args.records)
    print(f"produced {count:,} records to {args.topic} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
