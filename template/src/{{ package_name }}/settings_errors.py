"""Configuration problems said so they can be fixed at once.

Each message names where the bad input is (the config file and line, or the environment
variable), the key as a dotted path, the value unless it may be a secret, what is expected,
and for a misspelt name the nearest valid one ("did you mean").
"""

from __future__ import annotations

import difflib
import re
import tomllib
import types
import typing
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from .errors import ConfigurationError
from .redaction import credential_shape

Key = tuple[str, ...]

# How similar a name must be to a valid one to be offered as "did you mean" (difflib ratio).
NEAR_PART = 0.6  # one part of a name against its siblings: `pathh` -> `path`
NEAR_WHOLE = 0.8  # a whole variable name: `SOURCE_PATH` -> `SOURCE__PATH`
# A rejected value is echoed up to this length: enough to recognise it, never a whole blob.
SHOWN_VALUE_CHARS = 60

# Kubernetes gives every pod variables for each Service of its namespace (a Service named
# `pipeline-db` gives PIPELINE_DB_SERVICE_HOST, PIPELINE_DB_PORT_5432_TCP, ...): never settings.
_SERVICE_LINK = re.compile(r"_(SERVICE_HOST|SERVICE_PORT(_\w+)?|PORT(_\d+_(TCP|UDP|SCTP)\w*)?)$")
_TOML_POSITION = re.compile(r"^(?P<reason>.*) \(at line (?P<line>\d+), column (?P<column>\d+)\)$")
_TOML_TABLE = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
_TOML_KEY = re.compile(r"^\s*([A-Za-z0-9_.\-\" ]+?)\s*=")


def read_config_file(path: Path) -> dict[str, Any]:
    """The config file's contents; a syntax error names the file, line and column."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        match = _TOML_POSITION.match(str(error))
        if match is None:  # "(at end of document)": no line to name
            raise ConfigurationError(f"{path}: not valid TOML: {error}") from None
        line, column, reason = match["line"], match["column"], match["reason"]
        if reason == "Illegal character '\\n'":
            reason += " (a string not closed on its line?)"
        raise ConfigurationError(
            f"{path}:{line}:{column}: not valid TOML: {reason}; fix the syntax on line {line}"
        ) from None
    except UnicodeDecodeError as error:
        raise ConfigurationError(
            f"{path}: not UTF-8 text (byte {error.start}): save it as UTF-8"
        ) from None
    except OSError as error:
        raise ConfigurationError(f"{path}: cannot be read ({error.strerror})") from None


def setting_keys(model: type[BaseModel]) -> dict[Key, FieldInfo]:
    """Every key a config file or variable can set, sections included: `("source", "path")`.

    Fields excluded from dumps (telemetry: the standard `OTEL_*` variables) are not settable.
    """
    keys: dict[Key, FieldInfo] = {}
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        key = (field.alias or name,)
        keys[key] = field
        section = _section_model(field)
        if section is not None:
            keys.update({(*key, *sub): info for sub, info in setting_keys(section).items()})
    return keys


def nearest_key(key: Key, valid: Collection[Key]) -> Key | None:
    """The valid key nearest to `key`, matched part by part; None when a part is near nothing."""
    chosen: Key = ()
    for part in key:
        depth = len(chosen)
        level = sorted({k[depth] for k in valid if len(k) > depth and k[:depth] == chosen})
        match = [part] if part in level else difflib.get_close_matches(part, level, 1, NEAR_PART)
        if not match:
            return None
        chosen = (*chosen, match[0])
    return chosen if chosen in valid else None


@dataclass(frozen=True)
class SettingsInputs:
    """What settings are read from (a config file, the environment) and what they may hold:
    says where a key was set and what is wrong with it."""

    model: type[BaseModel]
    config_file: Path | None
    environ: Mapping[str, str]
    prefix: str  # of the environment variables, e.g. "PIPELINE_"

    def variable(self, key: Key) -> str:
        """The environment variable that sets `key`: `PIPELINE_SOURCE__PATH`."""
        return self.prefix + "__".join(part.upper() for part in key)

    def unknown_variables(self, not_settings: Collection[str]) -> list[str]:
        """A problem for each `PREFIX*` variable that is not a setting nor in `not_settings`.

        Settings read names case-insensitively, so these are compared in upper case.
        """
        keys = setting_keys(self.model)
        valid = {self.variable(key) for key in keys} | set(not_settings)
        # A table of free-form keys (Spark's `conf`) takes any name below it.
        open_tables = tuple(self.variable(key) + "__" for key in keys if _is_table(keys[key]))
        leaves = [key for key in keys if _section_model(keys[key]) is None]
        problems = []
        for name in sorted(self.environ):
            upper = name.upper()
            known = upper in valid or upper.startswith(open_tables) or _service_link(upper)
            if upper.startswith(self.prefix) and not known:
                advice = self._variable_advice(upper, leaves)
                problems.append(f"{name} is not a setting: {advice}")
        return problems

    def describe(self, error: ValidationError) -> str:
        """One line per problem, each naming where it was set and how to fix it."""
        keys = setting_keys(self.model)
        lines = ["invalid settings:"]
        for problem in error.errors():
            key = tuple(str(part) for part in problem["loc"])
            if problem["type"] == "extra_forbidden":
                lines.append("  " + self._unknown_key(key, keys))
            else:
                lines.append("  " + self._bad_value(key, problem, keys.get(key)))
        return "\n".join(lines)

    def _variable_advice(self, name: str, leaves: list[Key]) -> str:
        """Did you mean the nearest setting's variable? Else the variables there are."""
        key = tuple(name.removeprefix(self.prefix).lower().split("__"))
        nearest = nearest_key(key, leaves)
        if nearest is None:
            # A whole-name match catches a single `_` where `__` nests: PIPELINE_SOURCE_PATH.
            names = {self.variable(leaf).removeprefix(self.prefix): leaf for leaf in leaves}
            close = difflib.get_close_matches(name.removeprefix(self.prefix), names, 1, NEAR_WHOLE)
            nearest = names[close[0]] if close else None
        if nearest is not None:
            return f"did you mean {self.variable(nearest)}?"
        section = [leaf for leaf in leaves if len(key) > 1 and leaf[:-1] == key[:-1]]
        if section:
            return f"the settings {_table(key[:-1])} are " + ", ".join(
                self.variable(leaf) for leaf in section
            )
        example = self.variable(next((leaf for leaf in leaves if len(leaf) > 1), leaves[0]))
        return (
            f"settings are {self.prefix}<KEY> for a top-level key and "
            f"{self.prefix}<SECTION>__<KEY> for a key of a [section], e.g. {example} "
            "(README.md, Configuration)"
        )

    def _unknown_key(self, key: Key, keys: Mapping[Key, FieldInfo]) -> str:
        where = self._where(key)
        section = _table(key[:-1])
        siblings = sorted(k[-1] for k in keys if k[:-1] == key[:-1] and len(k) == len(key))
        # A key of another section, by its very name, beats a sibling of a similar name.
        exact = _same_name_elsewhere(key, keys, 1.0)
        nearest = None if exact else nearest_key(key, keys)
        if nearest is not None:
            advice = f"did you mean {nearest[-1]!r}?"
        elif elsewhere := exact or _same_name_elsewhere(key, keys, NEAR_WHOLE):
            advice = f"did you mean {elsewhere[-1]!r} {_table(elsewhere[:-1])}?"
        else:
            advice = f"valid keys {section}: {', '.join(siblings)}"
        return f"{where}: unknown key {key[-1]!r} {section}: {advice}"

    def _bad_value(self, key: Key, problem: ErrorDetails, field: FieldInfo | None) -> str:
        dotted = ".".join(key) or "settings"
        if problem["type"] == "missing":
            return (
                f"{dotted}: required: set {key[-1]!r} {_table(key[:-1])} of "
                f"{self.config_file or 'pipeline.toml'} or {self.variable(key)}"
            )
        shown = _shown(problem["input"], field)
        return f"{self._where(key)}: {dotted}{shown}: {problem['msg']}"

    def _where(self, key: Key) -> str:
        """The variable that set `key`, else the config file and its line, else the variable."""
        variable = self.variable(key)
        if any(name.upper() == variable for name in self.environ):
            return variable
        if self.config_file is not None:
            line = line_of(self.config_file, key)
            return f"{self.config_file}:{line}" if line else str(self.config_file)
        return variable


def _table(section: Key) -> str:
    """Where a key sits in a config file: `in [source]`, or `at the top level`."""
    return f"in [{'.'.join(section)}]" if section else "at the top level"


def _section_model(field: FieldInfo) -> type[BaseModel] | None:
    """The model of a `[section]` field (also when optional), None for a plain value."""
    annotation = field.annotation
    candidates = (
        typing.get_args(annotation)
        if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union
        else (annotation,)
    )
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _service_link(name: str) -> bool:
    """A Kubernetes service variable (a Service name has no `__`: a setting's variable may)."""
    return "__" not in name and _SERVICE_LINK.search(name) is not None


def _is_table(field: FieldInfo) -> bool:
    """A setting that is a table of free-form keys (a dict), not a fixed section."""
    return typing.get_origin(field.annotation) in (dict, Mapping)


def _same_name_elsewhere(key: Key, keys: Collection[Key], cutoff: float) -> Key | None:
    """A key of another section with a name at least `cutoff` similar (1.0: the same)."""
    others = {k[-1]: k for k in keys if k[:-1] != key[:-1]}
    match = difflib.get_close_matches(key[-1], others, 1, cutoff)
    return others[match[0]] if match else None


def _shown(value: object, field: FieldInfo | None) -> str:
    """` = <the rejected value>` for a plain value; nothing for a section, a secret or a
    value holding a credential."""
    if field is None or is_secret(field) or not isinstance(value, str | int | float | bool):
        return ""
    if isinstance(value, str) and credential_shape(value):
        return ""
    text = repr(value)
    if len(text) > SHOWN_VALUE_CHARS:
        text = text[: SHOWN_VALUE_CHARS - 3] + "..."
    return f" = {text}"


def is_secret(field: FieldInfo) -> bool:
    """A setting holding a secret value (`SecretStr`): environment only, never echoed."""
    annotation = field.annotation
    return annotation is SecretStr or SecretStr in typing.get_args(annotation)


def line_of(path: Path, key: Key) -> int | None:
    """The line of `path` that sets `key`, read the simple way (tables and dotted keys);
    None when the file writes it some other way (inline tables, arrays of tables)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    table: Key = ()
    for number, line in enumerate(lines, start=1):
        if header := _TOML_TABLE.match(line):
            table = _dotted(header[1])
        elif (assignment := _TOML_KEY.match(line)) and (*table, *_dotted(assignment[1])) == key:
            return number
    # A key that is a whole section in the file: the line of its `[section]` header.
    for number, line in enumerate(lines, start=1):
        if (header := _TOML_TABLE.match(line)) and _dotted(header[1]) == key:
            return number
    return None


def _dotted(text: str) -> Key:
    return tuple(part.strip().strip('"') for part in text.split("."))
