"""Secrets come only from the environment or a secret reference: settings holding one
anywhere else are refused when they are loaded.

A config file is committed, copied into images and pasted into tickets; a host, a database
name or an endpoint URL is printed in errors, manifests and the doctor's report. So a secret
setting (`password`, `secret_access_key`, ...) written into the config file, and a
credential-shaped value (a DSN with its password, a URL with `user:password@`, an AWS key
id, a bearer token) in any setting that is not a secret, are refused with exit 78. Each
refusal names the setting and where the secret belongs, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .redaction import credential_shape
from .settings_errors import Key, SettingsInputs, is_secret, line_of, setting_keys

# Keys that name a secret by themselves, even where no setting of that name exists (a
# `password` under a section that has none is a secret in the wrong file, not a typo).
SECRET_KEY_NAME = re.compile(
    r"(?i)^(?:.*_)?(?:password|passwd|pwd|secret_access_key|session_token|token|api_key)$"
)
REFERENCE_SUFFIX = "_secret"
REFERENCE_FORM = "aws-secretsmanager:<secret id>[#<json key>]"
# Standard OpenTelemetry variables holding endpoint URLs (read by the exporters themselves).
OTLP_ENDPOINT_VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
)


def misplaced_secrets(inputs: SettingsInputs, document: Mapping[str, Any] | None) -> list[str]:
    """One problem per secret outside the environment and secret references: in the config
    file (`document`, read from `inputs.config_file`) or in a non-secret variable."""
    problems: list[str] = []
    if document is not None and inputs.config_file is not None:
        problems.extend(_in_file(inputs, inputs.config_file, document))
    problems.extend(_in_variables(inputs))
    problems.extend(_in_otlp_endpoints(inputs.environ))
    return problems


def _in_file(inputs: SettingsInputs, path: Path, document: Mapping[str, Any]) -> Iterator[str]:
    keys = setting_keys(inputs.model)
    for key, value in _values(document):
        line = line_of(path, key)
        where = f"{path}:{line}" if line else str(path)
        dotted = ".".join(key)
        field = keys.get(key)
        if (field is not None and is_secret(field)) or _names_a_secret(key):
            yield (
                f"{where}: {dotted} is a secret, and a config file is no place for one: "
                f"remove it and {_where_secrets_go(inputs, key)}"
            )
        elif isinstance(value, str) and (shape := credential_shape(value)):
            yield f"{where}: {dotted} holds {shape}: {_keep_it_out(inputs, key)}"


def _in_variables(inputs: SettingsInputs) -> Iterator[str]:
    keys = setting_keys(inputs.model)
    by_variable = {inputs.variable(key): key for key in keys}
    for name, value in sorted(inputs.environ.items()):
        key = by_variable.get(name.upper())
        if key is None or is_secret(keys[key]):
            continue
        if shape := credential_shape(value):
            yield f"{name} holds {shape}: {_keep_it_out(inputs, key)}"


def _in_otlp_endpoints(environ: Mapping[str, str]) -> Iterator[str]:
    for name in OTLP_ENDPOINT_VARIABLES:
        if shape := credential_shape(environ.get(name, "")):
            yield (
                f"{name} holds {shape}: keep only scheme://host:port there and send the "
                "credentials as a header in OTEL_EXPORTER_OTLP_HEADERS (e.g. "
                "Authorization=Basic <base64 of user:password>)"
            )


def _values(document: Mapping[str, Any], prefix: Key = ()) -> Iterator[tuple[Key, object]]:
    """Every value of a TOML document with its dotted key (array items under their array)."""
    for name, value in document.items():
        key = (*prefix, str(name))
        if isinstance(value, Mapping):
            yield from _values(value, key)
        elif isinstance(value, list):
            for item in value:
                yield key, item
        else:
            yield key, value


def _names_a_secret(key: Key) -> bool:
    return SECRET_KEY_NAME.match(key[-1]) is not None


def _where_secrets_go(inputs: SettingsInputs, key: Key) -> str:
    """`set PIPELINE_SOURCE__PASSWORD in the environment, or source.password_secret to ...`."""
    advice = f"set {inputs.variable(key)} in the environment"
    reference = (*key[:-1], key[-1] + REFERENCE_SUFFIX)
    if reference in setting_keys(inputs.model):
        advice += f", or {'.'.join(reference)} to a secret reference ({REFERENCE_FORM})"
    return advice


def _keep_it_out(inputs: SettingsInputs, key: Key) -> str:
    """Advice for a non-secret setting holding a credential: where its section's secrets go."""
    keys = setting_keys(inputs.model)
    secrets = [
        other
        for other, field in keys.items()
        if other[:-1] == key[:-1] and len(other) == len(key) and is_secret(field)
    ]
    places = [_where_secrets_go(inputs, secret).removeprefix("set ") for secret in secrets]
    if not places:
        return (
            f"keep only the {key[-1]} here; secrets come only from the environment or a "
            "secret reference (README, Credentials)"
        )
    return f"keep only the {key[-1]} here, and set " + "; or ".join(places)
