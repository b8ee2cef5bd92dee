"""What can be configured about the Kafka stream, and the doctor's check of it."""

from __future__ import annotations

import logging
import re
import time
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from ...errors import ConfigurationError, PipelineError, TransientError

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
OffsetReset = Literal["earliest", "latest"]

# Kafka's own rule for topic names (kafka.common.internals.Topic): they also become the keys
# of the positions ("<topic>/<partition>"), which a `/` would make ambiguous.
TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
# One bootstrap address as librdkafka reads it: [protocol://]host[:port], host a DNS name, an
# IPv4 address or a bracketed IPv6 address.
BOOTSTRAP_ADDRESS = re.compile(
    r"^(?:(?:PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL)://)?"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::(?P<port>\d{1,5}))?$",
    re.IGNORECASE,
)
DEAD_LETTER_SUFFIX = ".dlq"
# How long the doctor waits for the cluster's metadata before calling it unreachable.
METADATA_TIMEOUT_S = 10.0
METADATA_ATTEMPT_S = 1.0
# librdkafka's errors about reaching the cluster, as its error callback reports them.
_LOGIN_REFUSED = ("_AUTHENTICATION", "SASL_AUTHENTICATION_FAILED")
_UNRESOLVED = ("_RESOLVE",)
_TLS_FAILED = ("_SSL",)


class StreamSettings(BaseModel):
    """The `[stream]` settings section (`PIPELINE_STREAM__<KEY>`): the topic the pipeline
    consumes in micro-batches, as one consumer group, and where bad records go."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bootstrap_servers: str = Field(
        default="",
        description="Brokers to bootstrap from: `host:port` pairs, comma-separated.",
    )
    topic: str = Field(default="orders", description="Topic the pipeline consumes.")
    group_id: str = Field(
        default="",
        max_length=255,
        description="Consumer group; pipeline.toml sets it to the project's name.",
    )
    dead_letter_topic: str | None = Field(
        default=None,
        description="Topic bad records go to, with their reasons; default `<topic>.dlq`.",
    )
    auto_offset_reset: OffsetReset = Field(
        default="earliest",
        description="Where a partition neither the destination nor the group has seen starts.",
    )
    security_protocol: SecurityProtocol = Field(
        default="PLAINTEXT", description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."
    )
    sasl_mechanism: SaslMechanism | None = Field(
        default=None, description="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (SASL_* only)."
    )
    sasl_username: str | None = Field(default=None, description="SASL user name.")
    sasl_password: SecretStr | None = Field(
        default=None, description="SASL password (environment only, never a file)."
    )
    sasl_password_secret: str | None = Field(
        default=None,
        description="Or a reference: `aws-secretsmanager:<secret id>[#<json key>]`.",
    )
    session_timeout_ms: int = Field(
        default=45_000,
        ge=6_000,
        le=300_000,
        description="A consumer silent this long leaves the group; its partitions move.",
    )
    max_batch_records: int = Field(
        default=10_000, ge=1, le=1_000_000, description="Records one micro-batch holds at most."
    )
    max_batch_seconds: float = Field(
        default=1.0, gt=0, le=300, description="Seconds one micro-batch waits at most."
    )

    @field_validator("topic")
    @classmethod
    def _topic_is_a_kafka_name(cls, topic: str) -> str:
        return _checked_topic(topic)

    @field_validator("dead_letter_topic")
    @classmethod
    def _dead_letter_topic_is_a_kafka_name(cls, topic: str | None) -> str | None:
        return None if topic is None else _checked_topic(topic)

    @field_validator("group_id")
    @classmethod
    def _group_id_is_printable(cls, group_id: str) -> str:
        if any(ord(character) < 32 or ord(character) == 127 for character in group_id):
            raise ValueError("must not hold control characters")
        return group_id

    @model_validator(mode="before")
    @classmethod
    def _no_credentials_in_bootstrap_servers(cls, values: Any) -> Any:
        """`user:password@host:9092` is refused here, on the section, so the error does not
        echo the value (a field's error would quote it back)."""
        if isinstance(values, dict) and "@" in str(values.get("bootstrap_servers", "")):
            raise ValueError(
                "bootstrap_servers holds a user name or password (`@`): keep only host:port "
                "pairs there; the login goes in stream.sasl_username and PIPELINE_STREAM__"
                "SASL_PASSWORD (or stream.sasl_password_secret)"
            )
        return values

    @field_validator("bootstrap_servers")
    @classmethod
    def _bootstrap_servers_are_addresses(cls, servers: str) -> str:
        for address in (part.strip() for part in servers.split(",") if servers.strip()):
            match = BOOTSTRAP_ADDRESS.match(address)
            if match is None or not 1 <= int(match["port"] or 9092) <= 65535:
                raise ValueError(
                    "must be host:port pairs separated by commas, e.g. "
                    "'broker-1:9092,broker-2:9092'"
                )
        return servers

    @model_validator(mode="after")
    def _login_matches_the_protocol(self) -> Self:
        uses_sasl = self.security_protocol.startswith("SASL_")
        given = [
            name
            for name in ("sasl_mechanism", "sasl_username", "sasl_password", "sasl_password_secret")
            if getattr(self, name) is not None
        ]
        if not uses_sasl and given:
            raise ValueError(
                f"stream.{given[0]} is set but stream.security_protocol is "
                f"{self.security_protocol}: set it to SASL_SSL (or SASL_PLAINTEXT), or remove "
                "the SASL settings"
            )
        if uses_sasl:
            missing = [
                name for name in ("sasl_mechanism", "sasl_username") if getattr(self, name) is None
            ]
            if self.sasl_password is None and self.sasl_password_secret is None:
                missing.append(
                    "sasl_password (PIPELINE_STREAM__SASL_PASSWORD) or sasl_password_secret"
                )
            if missing:
                raise ValueError(
                    f"stream.security_protocol is {self.security_protocol}, which logs in: "
                    f"set stream.{', stream.'.join(missing)}"
                )
        if self.dead_letters == self.topic:
            raise ValueError("stream.dead_letter_topic must differ from stream.topic")
        return self

    @property
    def dead_letters(self) -> str:
        """The dead-letter topic: `dead_letter_topic`, else `<topic>.dlq`."""
        return self.dead_letter_topic or f"{self.topic}{DEAD_LETTER_SUFFIX}"

    def required(self) -> None:
        """Refuse settings a connection cannot do without (they have no usable default)."""
        if not self.bootstrap_servers.strip():
            raise ConfigurationError(
                "stream.bootstrap_servers is not set: set PIPELINE_STREAM__BOOTSTRAP_SERVERS "
                "to the brokers' host:port pairs"
            )
        if not self.group_id:
            raise ConfigurationError(
                "stream.group_id is not set: set PIPELINE_STREAM__GROUP_ID (pipeline.toml "
                "names the group after the project)"
            )

    def client_config(self, password: SecretStr | None) -> dict[str, Any]:
        """What every client (consumer, producer, admin) is configured with: where the
        cluster is and how to log in. `password` is the resolved SASL password."""
        config: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
            "client.id": self.group_id or "pipeline",
            # One line per broker disconnect is noise: errors reach the error callback.
            "log.connection.close": False,
        }
        if self.sasl_mechanism is not None:
            config["sasl.mechanism"] = self.sasl_mechanism
            config["sasl.username"] = self.sasl_username
        if password is not None:
            config["sasl.password"] = password.get_secret_value()
        return config


def _checked_topic(topic: str) -> str:
    if topic in {".", ".."} or TOPIC_NAME.match(topic) is None:
        raise ValueError("must be a Kafka topic name: 1 to 249 letters, digits, '.', '_' or '-'")
    return topic


def resolved_password(settings: StreamSettings) -> SecretStr | None:
    """The SASL password: given, or read from the secret reference (registered for
    redaction either way)."""
    if settings.sasl_password_secret is None:
        from ...redaction import register_secret

        register_secret(settings.sasl_password)
        return settings.sasl_password
    from ...credentials import resolve_secret

    return resolve_secret(
        settings.sasl_password, settings.sasl_password_secret, setting="stream.sasl_password"
    )


class ClientErrors:
    """Collects what librdkafka reports through its error callback: the cause behind a
    timeout (a refused login, an unresolvable host) that the call itself only reports as
    "transport failure"."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.last = ""

    def __call__(self, error: Any) -> None:
        """librdkafka's `error_cb`."""
        self.names.add(error.name())
        self.last = error.str()

    def clear(self) -> None:
        """Forget what was reported (a long-lived client checks after each call)."""
        self.names.clear()
        self.last = ""

    def cause(self, settings: StreamSettings, doing: str) -> PipelineError | None:
        """The classified error behind the reported ones, if they say what it is."""
        where = f"stream.bootstrap_servers {settings.bootstrap_servers!r}"
        if any(name in _LOGIN_REFUSED for name in self.names):
            return ConfigurationError(
                f"{doing}: the brokers at {where} refused the login of "
                f"stream.sasl_username {settings.sasl_username!r} "
                f"({settings.sasl_mechanism}): an authentication problem, not the network; "
                "check stream.sasl_username, the password (PIPELINE_STREAM__SASL_PASSWORD or "
                "stream.sasl_password_secret) and stream.sasl_mechanism"
            )
        if any(name in _UNRESOLVED for name in self.names):
            return ConfigurationError(
                f"{doing}: a host of {where} does not resolve: fix the host names"
            )
        if any(name in _TLS_FAILED for name in self.names):
            return ConfigurationError(
                f"{doing}: the TLS handshake with {where} failed ({self.last_text()}): check "
                "stream.security_protocol (SSL or SASL_SSL need a TLS listener) and the port"
            )
        return None

    def last_text(self) -> str:
        """librdkafka's last error text (names hosts, never a password)."""
        return self.last or "no error reported"


def quiet_logger() -> logging.Logger:
    """A logger for a short-lived client whose failures are reported by its error callback:
    librdkafka repeats a refused connection every retry, which is noise in the doctor."""
    quiet = logging.Logger("kafka-check")
    quiet.setLevel(logging.CRITICAL)
    return quiet


def topic_partitions(settings: StreamSettings, password: SecretStr | None) -> dict[str, int]:
    """The partition count of the stream's topic and its dead-letter topic, from the
    cluster's metadata; raises the classified error naming the setting to fix."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient

    settings.required()
    errors = ClientErrors()
    config: dict[str, Any] = {
        **settings.client_config(password),
        "error_cb": errors,
        "logger": quiet_logger(),
    }
    admin = AdminClient(config)
    doing = "reading the cluster's metadata"
    deadline = time.monotonic() + METADATA_TIMEOUT_S
    # Short attempts, each followed by the error callback: a refused login is reported in
    # milliseconds, while the call itself would only time out as a "transport failure".
    while True:
        try:
            metadata = admin.list_topics(timeout=METADATA_ATTEMPT_S)
            break
        except KafkaException as error:
            admin.poll(0)
            cause = errors.cause(settings, doing)
            if cause is not None:
                raise cause from None
            if time.monotonic() >= deadline:
                raise TransientError(
                    f"{doing}: no broker of stream.bootstrap_servers "
                    f"{settings.bootstrap_servers!r} answered within {METADATA_TIMEOUT_S:.0f} s "
                    f"({error.args[0].str()}; {errors.last_text()}): check the addresses, "
                    "that the brokers run, and that the NetworkPolicy lets the pipeline reach "
                    "them"
                ) from None
    counts: dict[str, int] = {}
    for setting, topic in (("topic", settings.topic), ("dead_letter_topic", settings.dead_letters)):
        found = metadata.topics.get(topic)
        problem = found.error if found is not None else None
        if found is None or (
            problem is not None and problem.code() == KafkaError.UNKNOWN_TOPIC_OR_PART
        ):
            raise ConfigurationError(
                f"stream.{setting} {topic!r} does not exist on {settings.bootstrap_servers}: "
                "create it (the pipeline never creates topics) or fix the name"
            )
        if problem is not None and problem.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED:
            operations = "Read and Describe" if setting == "topic" else "Write and Describe"
            raise ConfigurationError(
                f"stream.{setting} {topic!r}: not authorized: grant the pipeline's principal "
                f"{operations} on it"
            )
        if problem is not None:
            raise TransientError(f"stream.{setting} {topic!r}: {problem.str()}")
        counts[topic] = len(found.partitions)
    return counts


def describe_stream(settings: StreamSettings) -> str:
    """The doctor's line for the stream: the brokers answer, the login is accepted, and the
    topic and the dead-letter topic exist and are visible; raises the classified error
    naming what to fix."""
    counts = topic_partitions(settings, resolved_password(settings))
    return (
        f"topic {settings.topic!r} ({counts[settings.topic]} partition(s)) on "
        f"{settings.bootstrap_servers}, consumed as group {settings.group_id!r}; dead letters "
        f"to {settings.dead_letters!r} ({counts[settings.dead_letters]} partition(s))"
    )
