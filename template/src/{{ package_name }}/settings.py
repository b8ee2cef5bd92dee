"""One typed settings object, read once at the entry point.

Precedence, lowest first: defaults here < the TOML config file < `PIPELINE_*` environment
variables (nested with `__`, e.g. `PIPELINE_SOURCE__PATH`). OpenTelemetry keeps its standard
`OTEL_*` variables. Secrets are `SecretStr`: they print as `**********` and never reach logs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from .engines.configuration import EngineSettings
from .errors import ConfigurationError
from .sinks.configuration import DestinationSettings
from .sources.configuration import SourceSettings

ENV_PREFIX = "PIPELINE_"
CONFIG_ENV_VAR = "PIPELINE_CONFIG"
DEFAULT_CONFIG_FILE = Path("pipeline.toml")


class TelemetrySettings(BaseModel):
    """Standard OpenTelemetry variables the pipeline acts on (exporters read the rest)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint: str | None = None
    traces_endpoint: str | None = None
    metrics_endpoint: str | None = None
    logs_endpoint: str | None = None
    protocol: Literal["grpc", "http/protobuf"] = "http/protobuf"
    headers: SecretStr | None = None
    sdk_disabled: bool = False
    export_timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> TelemetrySettings:
        """Read the standard `OTEL_*` variables (not prefixed: they are the OTel standard)."""

        def get(name: str) -> str | None:
            value = environ.get(name, "").strip()
            return value or None

        values: dict[str, object] = {
            "endpoint": get("OTEL_EXPORTER_OTLP_ENDPOINT"),
            "traces_endpoint": get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
            "metrics_endpoint": get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"),
            "logs_endpoint": get("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"),
            "headers": get("OTEL_EXPORTER_OTLP_HEADERS"),
            "sdk_disabled": (get("OTEL_SDK_DISABLED") or "false").lower() == "true",
        }
        protocol = get("OTEL_EXPORTER_OTLP_PROTOCOL")
        if protocol is not None:
            values["protocol"] = protocol
        timeout_ms = get("OTEL_EXPORTER_OTLP_TIMEOUT")
        if timeout_ms is not None:
            # The standard unit is milliseconds; cap it so a dead collector cannot stall a run.
            values["export_timeout_seconds"] = min(float(timeout_ms) / 1000, 60.0)
        return cls.model_validate(values)

    def endpoint_for(self, signal: Literal["traces", "metrics", "logs"]) -> str | None:
        """The endpoint a signal exports to, or None when that signal is not exported."""
        specific = {
            "traces": self.traces_endpoint,
            "metrics": self.metrics_endpoint,
            "logs": self.logs_endpoint,
        }[signal]
        return specific or self.endpoint


class Settings(BaseSettings):
    """Everything the pipeline can be configured with."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    source: SourceSettings = SourceSettings()
    destination: DestinationSettings = DestinationSettings()
    engine: EngineSettings = EngineSettings()
    runs_dir: Path = Field(
        default=Path("data/runs"), description="Run manifests and quarantine output."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings, exclude=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment beats the config file; the file beats the defaults."""
        config_file = settings_cls.model_config.get("toml_file")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if config_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)


def resolve_config_file(explicit: Path | None) -> Path | None:
    """The config file to read: `--config`, else `$PIPELINE_CONFIG`, else `./pipeline.toml`."""
    from_env = os.environ.get(CONFIG_ENV_VAR)
    if explicit is not None:
        chosen, origin = explicit, "--config"
    elif from_env:
        chosen, origin = Path(from_env), CONFIG_ENV_VAR
    else:
        return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None
    if not chosen.is_file():
        raise ConfigurationError(
            f"config file {str(chosen)!r} (from {origin}) does not exist: "
            f"create it or point {origin} at an existing TOML file"
        )
    return chosen


def load_settings(config_file: Path | None = None) -> Settings:
    """Load and validate settings; any problem becomes a ConfigurationError naming the field."""
    path = resolve_config_file(config_file)

    class _FileBackedSettings(Settings):
        model_config = SettingsConfigDict(toml_file=path)

    telemetry = _telemetry_from_environ()
    try:
        return _FileBackedSettings(telemetry=telemetry)
    except ValidationError as error:
        raise ConfigurationError(describe_validation_error(error, path)) from None


def _telemetry_from_environ() -> TelemetrySettings:
    try:
        return TelemetrySettings.from_environ(os.environ)
    except (ValidationError, ValueError) as error:
        problems = (
            [f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in error.errors()]
            if isinstance(error, ValidationError)
            else [str(error)]
        )
        raise ConfigurationError(
            "invalid OpenTelemetry environment (OTEL_EXPORTER_OTLP_PROTOCOL is 'grpc' or "
            "'http/protobuf'; OTEL_EXPORTER_OTLP_TIMEOUT is milliseconds): " + "; ".join(problems)
        ) from None


def describe_validation_error(error: ValidationError, config_file: Path | None) -> str:
    """Turn a pydantic error into lines that name each setting and where to set it."""
    where = f" or in {config_file}" if config_file else " or in pipeline.toml"
    lines = ["invalid settings:"]
    for problem in error.errors():
        location = [str(part) for part in problem["loc"]]
        dotted = ".".join(location)
        env_name = ENV_PREFIX + "__".join(part.upper() for part in location)
        # Never echo the rejected input: it may be a secret put in the wrong place.
        lines.append(f"  {dotted}: {problem['msg']} (set {env_name}{where})")
    return "\n".join(lines)
