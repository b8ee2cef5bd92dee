"""No secret leaves the process: one redaction, used by every way out.

Secrets reach output three ways, and each is closed here once:

* through third-party SDKs' own debug logs (botocore prints request headers and signed
  requests, psycopg connection strings): `pin_sdk_loggers` keeps those loggers at WARNING
  whatever `log_level` says;
* through a value the pipeline knows is secret (a resolved password, the AWS keys in the
  environment): `register_secret` adds it, and `redact` removes every registered value;
* through text shaped like a credential that nobody registered (a password in a URL, a
  `password=` pair, an AWS access key id, a bearer token): `redact` removes those too.

`install_redaction` makes every log record pass through `redact` when it is created, so
every handler (the console, OpenTelemetry's, the progress display's console route, and the
handlers libraries attach to their own loggers) gets redacted text, including args-formatted
messages and exception tracebacks. Errors (`errors.PipelineError`), span exception events
(`exception_attributes`) and the doctor's report call `redact` themselves.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

# pydantic only for annotations: errors.py imports this module, and `--help` must not pay for
# pydantic (tests/test_cli.py).
if TYPE_CHECKING:
    from pydantic import BaseModel, SecretStr

MASK = "***"
# A registered value shorter than this is not searched for: masking every "ab" in every log
# line would destroy the logs and still prove nothing (such a password is guessable anyway).
MIN_SECRET_LENGTH = 4

# Loggers of SDKs whose DEBUG (and some INFO) records hold headers, signed requests,
# connection parameters or payloads: never below WARNING, whatever `log_level` says.
SDK_LOGGERS = (
    "botocore",
    "boto3",
    "s3transfer",
    "urllib3",
    "requests",
    "httpx",
    "httpcore",
    "fsspec",
    "s3fs",
    "aiobotocore",
    "psycopg",
    "grpc",
    "opentelemetry",
    "py4j",
    "distributed",
    "deltalake",
    "kafka",
    "confluent_kafka",
    "asyncio",
)
# Environment variables the AWS SDKs (boto3, delta-rs) read credentials from: their values
# are secrets even though the pipeline never reads them itself.
SECRET_ENVIRONMENT_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
)
# OTLP headers hold collector credentials (`Authorization=Basic ...`): each value is secret.
OTLP_HEADER_VARIABLES = (
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
    "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
)

_CREDENTIAL_KEYS = (
    r"(?:aws_)?(?:secret_access_key|session_token|security_token)|password|passwd|pwd"
    r"|secret|api[_-]?key|access[_-]?token|auth[_-]?token|token|x-amz-security-token"
)


@dataclass(frozen=True)
class CredentialShape:
    """One kind of credential-shaped text: what it is called, how to find and mask it."""

    name: str
    pattern: re.Pattern[str]
    replacement: str | Callable[[re.Match[str]], str]


CREDENTIAL_SHAPES = (
    CredentialShape(
        "a password in a URL (user:password@host)",
        # `_` too: Kafka's listener schemes (SASL_SSL://user:password@host) have one.
        re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+._-]*://[^/\s:@]*):[^/\s@]+@"),
        rf"\g<head>:{MASK}@",
    ),
    CredentialShape(
        "a password= pair",
        re.compile(
            rf"(?i)(?P<head>(?<![\w-])(?:{_CREDENTIAL_KEYS})(?![\w-])\s*=\s*)"
            r"(?P<value>\"[^\"]*\"|'[^']*'|[^\s;&,'\"]+)"
        ),
        rf"\g<head>{MASK}",
    ),
    CredentialShape(
        "a quoted password field",
        re.compile(
            rf"(?i)(?P<head>[\"'](?:{_CREDENTIAL_KEYS})[\"']\s*:\s*b?)(?P<value>\"[^\"]*\"|'[^']*')"
        ),
        rf"\g<head>'{MASK}'",
    ),
    CredentialShape(
        "an AWS access key id",
        re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}\b"),
        MASK,
    ),
    CredentialShape(
        "a bearer or basic token",
        re.compile(r"(?i)(?P<head>\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{8,}"),
        rf"\g<head>{MASK}",
    ),
)


class _Registry:
    """The secret values of this process, longest first (a secret containing another is
    masked whole)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: tuple[str, ...] = ()

    def add(self, value: str) -> None:
        if len(value) < MIN_SECRET_LENGTH or value in self._values:
            return
        with self._lock:
            self._values = tuple(sorted({*self._values, value}, key=len, reverse=True))

    @property
    def values(self) -> tuple[str, ...]:
        return self._values


_REGISTRY = _Registry()


def register_secret(value: str | SecretStr | None) -> None:
    """Remember a secret value: from now on `redact` masks it wherever it appears."""
    if value is None:
        return
    _REGISTRY.add(value if isinstance(value, str) else value.get_secret_value())


# `PIPELINE_*` variables of secret settings (PIPELINE_SOURCE__PASSWORD, ..._SECRET_ACCESS_KEY):
# registered before the settings are even validated, so a refused run cannot echo them.
SECRET_SETTING_VARIABLE = re.compile(
    r"^PIPELINE_\w*(PASSWORD|SECRET_ACCESS_KEY|ACCESS_KEY_ID|SESSION_TOKEN|TOKEN)$", re.IGNORECASE
)


def register_environment_secrets(environ: Mapping[str, str]) -> None:
    """Register the AWS credentials, OTLP header values and secret settings' variables the
    environment holds."""
    for name in SECRET_ENVIRONMENT_VARIABLES:
        register_secret(environ.get(name))
    for name, value in environ.items():
        if SECRET_SETTING_VARIABLE.match(name):
            register_secret(value)
    for name in OTLP_HEADER_VARIABLES:
        for pair in environ.get(name, "").split(","):
            _, _, value = pair.partition("=")
            register_secret(value.strip())


def register_model_secrets(model: BaseModel) -> None:
    """Register every `SecretStr` value held by `model` and the models inside it."""
    from pydantic import BaseModel, SecretStr

    for name in type(model).model_fields:
        value = getattr(model, name, None)
        if isinstance(value, SecretStr):
            register_secret(value)
        elif isinstance(value, BaseModel):
            register_model_secrets(value)


def redact(text: str) -> str:
    """`text` without any registered secret or credential-shaped substring."""
    for value in _REGISTRY.values:
        if value in text:
            text = text.replace(value, MASK)
    for shape in CREDENTIAL_SHAPES:
        text = shape.pattern.sub(shape.replacement, text)
    return text


def credential_shape(text: str) -> str | None:
    """What credential `text` holds ("a password in a URL", ...), or None: for refusing
    settings that hold one where it does not belong."""
    for shape in CREDENTIAL_SHAPES:
        if shape.pattern.search(text):
            return shape.name
    return None


def exception_attributes(error: BaseException) -> dict[str, str]:
    """A span's exception event attributes for `error`, redacted (pass them to
    `span.record_exception(error, attributes=...)`: they replace the SDK's own)."""
    return {
        "exception.type": type(error).__name__,
        "exception.message": redact(str(error)),
        "exception.stacktrace": redact("".join(traceback.format_exception(error))),
    }


class RedactedException(Exception):
    """Stands in for a logged exception after redaction: its message is the redacted one,
    and it has no traceback object left to format (the redacted text is in `exc_text`)."""


# Set on a record once redacted, so the filters after the record factory skip it.
_REDACTED_MARK = "pipeline_redacted"
# Attributes every LogRecord has: the rest came from `extra=` and are exported as attributes.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    _REDACTED_MARK,
}


def redact_record(record: logging.LogRecord) -> None:
    """Redact a record in place: its message (args formatted first), its exception and
    stack text, and the string values given with `extra=`."""
    if getattr(record, _REDACTED_MARK, False):
        return
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: the handler reports it; keep the raw text
        message = f"{record.msg} {record.args}"
    record.msg, record.args = redact(message), None
    if record.exc_info and record.exc_info[1] is not None:
        error_type, error, _ = record.exc_info
        record.exc_text = redact(record.exc_text or "".join(traceback.format_exception(error)))
        record.exc_info = (error_type, RedactedException(redact(str(error))), None)
        # OpenTelemetry's handler takes extra attributes as they are: keep the trace there.
        setattr(record, "exception.stacktrace", record.exc_text)
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    for name, value in list(vars(record).items()):
        if name not in _STANDARD_ATTRIBUTES and isinstance(value, str):
            setattr(record, name, redact(value))
    setattr(record, _REDACTED_MARK, True)


class RedactingFilter(logging.Filter):
    """Redacts every record a handler emits (records made before `install_redaction`, or by
    a logger subclass with its own factory, are caught here)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place; never drops it."""
        redact_record(record)
        return True


class _Installed:
    factory: Callable[..., logging.LogRecord] | None = None


def install_redaction(environ: Mapping[str, str]) -> None:
    """Redact every log record of this process from its creation, pin the SDK loggers to
    WARNING, and register the environment's secrets. Idempotent."""
    register_environment_secrets(environ)
    pin_sdk_loggers(SDK_LOGGERS)
    if _Installed.factory is not None:
        return
    previous = logging.getLogRecordFactory()

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        redact_record(record)
        return record

    _Installed.factory = previous
    logging.setLogRecordFactory(redacting_factory)


def pin_sdk_loggers(names: Iterable[str]) -> None:
    """Keep each SDK logger at WARNING or above, and the loggers below it that already
    exist and set a level of their own (a child at NOTSET follows its parent)."""
    prefixes = tuple(names)
    existing = [
        name
        for name, candidate in logging.Logger.manager.loggerDict.items()
        if isinstance(candidate, logging.Logger) and name.startswith(prefixes)
    ]
    for name in {*prefixes, *existing}:
        sdk_logger = logging.getLogger(name)
        if name in prefixes or sdk_logger.level != logging.NOTSET:
            sdk_logger.setLevel(max(sdk_logger.level, logging.WARNING))
