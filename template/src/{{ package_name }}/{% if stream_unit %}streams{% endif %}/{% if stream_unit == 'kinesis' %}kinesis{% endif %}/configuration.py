"""What can be configured about the Kinesis stream, the boto3 client built from it, and the
doctor's check of it.

Failures of Kinesis calls are classified here for the consumer too: a missing stream, denied
access or rejected credentials are configuration (exit 78, the message names the
`stream.*` setting to fix); throttling, 5xx answers and lost connections are transient (exit
75). Messages never echo what the service returned beyond its error code.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from ...credentials import resolve_access_keys
from ...errors import ConfigurationError, PipelineError, TransientError
from ...reachability import check_connectable, checked_endpoint_url, endpoint_host_port

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient

StartPosition = Literal["TRIM_HORIZON", "LATEST"]

# Kinesis's own stream naming rule.
STREAM_NAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,128}")
DEAD_LETTER_SUFFIX = "-dlq"

# Kinesis error codes worth another attempt; everything else fails at once.
TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "LimitExceededException",
        "KMSThrottlingException",
        "InternalFailure",
        "InternalFailureException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "ThrottlingException",
        "RequestTimeout",
    }
)
CREDENTIAL_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredTokenException",
        "IncompleteSignature",
        "MissingAuthenticationToken",
    }
)
DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied", "KMSAccessDeniedException"})


class StreamSettings(BaseModel):
    """The `[stream]` settings section (`PIPELINE_STREAM__<KEY>`): the Kinesis data stream
    the consumer reads, its dead-letter stream, and this replica's share of the shards."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # For the shared credential resolution's messages: the section they name.
    section: ClassVar[str] = "stream"

    stream_name: str = Field(default="", description="Kinesis data stream to read.")
    dead_letter_stream: str = Field(
        default="",
        description="Stream bad records are written to; default `<stream_name>-dlq`.",
    )
    region: str | None = Field(default=None, description="AWS region; default: the SDK's.")
    endpoint_url: str | None = Field(
        default=None, description="Kinesis endpoint for kinesalite or a VPC endpoint."
    )
    access_key_id: SecretStr | None = None
    access_key_id_secret: str | None = Field(
        default=None, description="`aws-secretsmanager:<id>[#key]` holding the access key id."
    )
    secret_access_key: SecretStr | None = None
    secret_access_key_secret: str | None = Field(
        default=None, description="`aws-secretsmanager:<id>[#key]` holding the secret key."
    )
    start_position: StartPosition = Field(
        default="TRIM_HORIZON",
        description=(
            "Where a shard the destination holds no position for starts (children of a "
            "drained shard always start at their beginning)."
        ),
    )
    replica_index: int = Field(
        default=0,
        ge=0,
        description="This consumer's ordinal (the StatefulSet pod name's suffix).",
    )
    replica_count: int = Field(
        default=1, ge=1, le=1024, description="Consumers sharing the stream's shards."
    )
    max_batch_records: int = Field(
        default=10_000, ge=1, le=1_000_000, description="Records per micro-batch at most."
    )
    max_batch_seconds: float = Field(
        default=1.0, gt=0, le=300, description="Seconds a micro-batch waits for records."
    )
    poll_interval_seconds: float = Field(
        default=1.0,
        ge=0.2,
        le=60,
        description=(
            "Wait before reading a caught-up shard again (0.2 s at least: Kinesis allows "
            "5 reads per second per shard, shared by every consumer of the stream)."
        ),
    )
    timeout_seconds: float = Field(
        default=30.0, gt=0, le=600, description="Connect and read timeout of each call."
    )

    @model_validator(mode="before")
    @classmethod
    def _dead_letter_stream_defaults_to_dlq_suffix(cls, data: Any) -> Any:
        if (
            isinstance(data, dict)
            and not data.get("dead_letter_stream")
            and data.get("stream_name")
        ):
            return {**data, "dead_letter_stream": f"{data['stream_name']}{DEAD_LETTER_SUFFIX}"}
        return data

    @field_validator("stream_name", "dead_letter_stream")
    @classmethod
    def _is_a_stream_name(cls, name: str) -> str:
        if name and not STREAM_NAME_PATTERN.fullmatch(name):
            raise ValueError("must be a Kinesis stream name: 1-128 of A-Z, a-z, 0-9, '_', '.', '-'")
        return name

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint_is_a_url(cls, endpoint: str | None) -> str | None:
        return checked_endpoint_url(endpoint, "https://kinesis.eu-west-1.amazonaws.com")

    @model_validator(mode="after")
    def _replica_index_is_below_the_count(self) -> StreamSettings:
        if self.replica_index >= self.replica_count:
            raise ValueError(
                f"stream.replica_index ({self.replica_index}) must be below "
                f"stream.replica_count ({self.replica_count}): indexes run from 0"
            )
        if self.dead_letter_stream and self.dead_letter_stream == self.stream_name:
            raise ValueError(
                "stream.dead_letter_stream must differ from stream.stream_name: bad records "
                "written back to the stream would be read again"
            )
        return self

    def endpoint_host_port(self) -> tuple[str, int]:
        """The host and port Kinesis calls go to (AWS's regional endpoint by default)."""
        return endpoint_host_port(
            self.endpoint_url, f"kinesis.{self.region or 'us-east-1'}.amazonaws.com"
        )


def kinesis_client(settings: StreamSettings) -> KinesisClient:
    """A boto3 Kinesis client; credentials from the settings (or their references), else the
    SDK's default chain (environment, IRSA web identity, instance profile)."""
    import boto3
    import botocore.session
    from botocore.config import Config

    key_id, secret_key = resolve_access_keys(settings)
    core = botocore.session.get_session()
    # Timestamps stay as Kinesis sent them (epoch seconds): parsing every record's
    # ApproximateArrivalTimestamp into a datetime, which nothing here reads, took 60% of
    # the consumer's CPU time.
    parsers = core.get_component("response_parser_factory")
    parsers.set_parser_defaults(timestamp_parser=_timestamp_as_sent)
    session = boto3.session.Session(
        aws_access_key_id=key_id.get_secret_value() if key_id else None,
        aws_secret_access_key=secret_key.get_secret_value() if secret_key else None,
        region_name=settings.region,
        botocore_session=core,
    )
    config = Config(
        # One attempt per call in botocore: the consumer's own backoff handles throttling
        # per shard, and the doctor wants the first answer.
        retries={"max_attempts": 1, "mode": "standard"},
        connect_timeout=settings.timeout_seconds,
        read_timeout=settings.timeout_seconds,
    )
    return session.client("kinesis", endpoint_url=settings.endpoint_url, config=config)


def _timestamp_as_sent(value: object) -> object:
    return value


def error_code(error: BaseException) -> str:
    """The error code of a botocore ClientError ("" for anything else)."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def is_transient(error: BaseException) -> bool:
    """Lost connections, timeouts, throttling and 5xx answers: worth another attempt."""
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import HTTPClientError

    if isinstance(error, BotoConnectionError | HTTPClientError | ConnectionError | TimeoutError):
        return True
    response = getattr(error, "response", None)
    status = 0
    if isinstance(response, dict):
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return error_code(error) in TRANSIENT_CODES or status >= 500


def classify(
    error: BaseException, what: str, settings: StreamSettings, stream: str
) -> PipelineError:
    """The pipeline error for a failed call on `stream` (the stream or its dead-letter
    stream); the message names the setting to fix."""
    from botocore.exceptions import NoCredentialsError, PartialCredentialsError

    if isinstance(error, PipelineError):
        return error
    setting = "stream.stream_name"
    if stream != settings.stream_name:
        setting = "stream.dead_letter_stream"
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return ConfigurationError(
            f"{what}: no AWS credentials found: run with an IAM role, or set "
            "stream.access_key_id and stream.secret_access_key (or their _secret references)"
        )
    code = error_code(error)
    if is_transient(error):
        detail = code or type(error).__name__
        return TransientError(
            f"{what}: Kinesis is unavailable ({detail}): check stream.endpoint_url and the "
            "network, or rerun later"
        )
    if code == "ResourceNotFoundException":
        return ConfigurationError(
            f"{what}: stream {stream!r} does not exist in region {settings.region or 'default'}: "
            f"create it or fix {setting} (and stream.region)"
        )
    if code in DENIED_CODES:
        return ConfigurationError(
            f"{what}: access denied on stream {stream!r}: the pipeline's role needs "
            "kinesis:DescribeStreamSummary, ListShards, GetShardIterator and GetRecords on "
            f"the stream and PutRecords on the dead-letter stream (check {setting} and the "
            "role's policy)"
        )
    if code in CREDENTIAL_CODES:
        return ConfigurationError(
            f"{what}: Kinesis rejected the credentials ({code}): check stream.access_key_id "
            "and stream.secret_access_key (or their _secret references) or the IAM role"
        )
    return PipelineError(f"{what}: Kinesis answered {code or type(error).__name__}")


def check_stream(client: KinesisClient, settings: StreamSettings, stream: str) -> str:
    """Describe `stream` (status and open shards); raise a classified error when it cannot
    be read."""
    what = f"describing Kinesis stream {stream!r}"
    try:
        summary = client.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    except Exception as error:
        raise classify(error, what, settings, stream) from None
    status = summary["StreamStatus"]
    if status not in {"ACTIVE", "UPDATING"}:
        raise TransientError(f"{what}: the stream is {status}: wait until it is ACTIVE")
    return f"stream {stream!r} is {status} with {summary['OpenShardCount']} open shard(s)"


def describe_stream(settings: StreamSettings) -> str:
    """The doctor's line for the stream: the endpoint answers, the stream and its
    dead-letter stream exist and may be described, and this replica's share; raises
    ConfigurationError or TransientError naming what to fix."""
    if not settings.stream_name:
        raise ConfigurationError("stream.stream_name is not set: set PIPELINE_STREAM__STREAM_NAME")
    host, port = settings.endpoint_host_port()
    try:
        check_connectable(
            host, port, "Kinesis endpoint", "check stream.endpoint_url and the network policy"
        )
    except ValueError as error:
        raise TransientError(str(error)) from None
    client = kinesis_client(settings)
    try:
        stream = check_stream(client, settings, settings.stream_name)
        try:
            # The consumer lists shards: a role allowed to describe but not list fails here.
            client.list_shards(StreamName=settings.stream_name, MaxResults=1)
        except Exception as error:
            raise classify(error, "listing shards", settings, settings.stream_name) from None
        check_stream(client, settings, settings.dead_letter_stream)
    finally:
        client.close()
    share = f"replica {settings.replica_index} of {settings.replica_count}"
    return f"{stream}; dead letters to {settings.dead_letter_stream!r}; {share}"
