"""What can be configured about the S3 destination, and the doctor's check of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from ...reachability import check_connectable
from ...s3_client import (
    checked_bucket_name,
    checked_endpoint_url,
    checked_key_prefix,
    endpoint_host_port,
)
from ...settings_migration import refuse_retired

_RETIRED = {
    "keep_snapshots": "the destination is a Delta table now; remove keep_snapshots and set "
    "retention_hours (how long old versions stay restorable; docs/destination.md)",
    "lock_lease_seconds": "Delta commits need no lock; remove it",
    "multipart_threshold_mib": "delta-rs decides how it uploads; remove it",
    "max_concurrency": "delta-rs manages its own connections; remove it",
}


class DestinationSettings(BaseModel):
    """The `[destination]` settings section (`PIPELINE_DESTINATION__<KEY>`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_retired_settings(cls, values: Any) -> Any:
        return refuse_retired(values, _RETIRED, "destination")

    # For the shared S3 client's messages: the section they name, the actions a role needs.
    section: ClassVar[str] = "destination"
    actions: ClassVar[str] = "s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject"
    # The doctor's check is the only boto3 client here, one call at a time; delta-rs
    # (object_store) manages the table's own connections.
    max_concurrency: ClassVar[int] = 1

    bucket: str = Field(default="", description="Bucket holding the table; it must exist.")
    prefix: str = Field(
        default="orders",
        description="Key prefix of the Delta table; readers open `s3://<bucket>/<prefix>`.",
    )
    region: str | None = Field(default=None, description="AWS region; default: the SDK's.")
    endpoint_url: str | None = Field(
        default=None, description="S3 endpoint for moto, MinIO or a VPC endpoint; default AWS."
    )
    access_key_id: SecretStr | None = None
    access_key_id_secret: str | None = Field(
        default=None, description="`aws-secretsmanager:<id>[#key]` holding the access key id."
    )
    secret_access_key: SecretStr | None = None
    secret_access_key_secret: str | None = Field(
        default=None, description="`aws-secretsmanager:<id>[#key]` holding the secret key."
    )
    retention_hours: int = Field(
        default=168,
        ge=1,
        le=87_600,
        description=(
            "Versions younger than this stay readable for time travel and rollback; objects "
            "only older versions need are vacuumed after each run."
        ),
    )
    target_file_mib: int = Field(
        default=128,
        ge=1,
        le=4096,
        description=(
            "`maintain` compacts small files into files of about this size (MiB); runs and "
            "stream micro-batches each write files of their own."
        ),
    )
    staging_dir: Path = Field(
        default=Path("data/staging"),
        description="Local folder where a run's rows wait until its commit uploads them.",
    )
    timeout_seconds: float = Field(
        default=30.0, gt=0, le=600, description="Connect and read timeout of each S3 call."
    )

    @field_validator("bucket")
    @classmethod
    def _bucket_is_an_s3_name(cls, bucket: str) -> str:
        return checked_bucket_name(bucket)

    @field_validator("prefix")
    @classmethod
    def _prefix_stays_inside_the_bucket(cls, prefix: str) -> str:
        return checked_key_prefix(prefix)

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint_is_a_url(cls, endpoint: str | None) -> str | None:
        return checked_endpoint_url(endpoint)

    def endpoint_host_port(self) -> tuple[str, int]:
        """The host and port S3 calls go to (AWS's regional endpoint by default)."""
        return endpoint_host_port(self.endpoint_url, self.region)


def describe_destination(settings: DestinationSettings) -> str:
    """The doctor's line for the destination; raises ValueError naming what to fix."""
    from ...s3_client import S3Client, check_bucket

    if not settings.bucket:
        raise ValueError("destination.bucket is not set: set PIPELINE_DESTINATION__BUCKET")
    host, port = settings.endpoint_host_port()
    check_connectable(
        host, port, "S3 endpoint", "check destination.endpoint_url and the network policy"
    )
    check_bucket(S3Client.connect(settings))
    return f"s3://{settings.bucket}/{settings.prefix}/ is reachable"
