"""What every engine's settings share: a pydantic-settings class per engine, read from its own
`TDS_<ENGINE>_*` variables, parsed and checked here so a bad value fails at start-up with a
message that names its variable.

`from_env()` reads the process environment (or the mapping it is given) by exact name: the
class's `env_prefix` and the field's name in capitals, or the names in a field's
`validation_alias` (the first one set and not blank wins, as REPLICATE_API_TOKEN stands in
for TDS_REMOTE_API_TOKEN). Values are stripped, then parsed by the field's type: booleans as
1/0, true/false, yes/no or on/off (empty is off), numbers, one of a Literal's choices, kinds as
a comma- or space-separated list. Constructed directly, a settings object holds what it was
given and the defaults, never the environment: tests and benchmarks build them so.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal, Self, get_args, get_origin

from pydantic import AliasChoices, ValidationError, ValidationInfo, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from tds.engines.base import KINDS, Kind


class EngineSettings(BaseSettings):
    """Base of an engine's settings; a subclass sets `env_prefix` and declares its fields."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The settings in `environ` (default: the process environment); ValueError naming
        the variable when one is malformed or out of range."""
        values = Environment(cls, os.environ if environ is None else environ)()
        try:
            return cls(**values)
        except ValidationError as error:
            raise ValueError(explain(cls, error)) from None

    @classmethod
    def variables(cls, field_name: str) -> list[str]:
        """The environment variables a field is read from, in order of precedence."""
        alias = cls.model_fields[field_name].validation_alias
        if isinstance(alias, AliasChoices):
            return [choice for choice in alias.choices if isinstance(choice, str)]
        if isinstance(alias, str):
            return [alias]
        return [f"{cls.model_config.get('env_prefix', '')}{field_name.upper()}"]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only what the constructor is given: `from_env` reads the environment and passes it.
        return (init_settings,)

    @field_validator("*", mode="before")
    @classmethod
    def _parse(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str) or info.field_name is None:
            return value
        annotation = cls.model_fields[info.field_name].annotation
        return parse(value, annotation, cls.variables(info.field_name)[0])


class Environment(PydanticBaseSettingsSource):
    """A settings class's variables from `environ`, by exact name, stripped."""

    def __init__(self, settings_cls: type[EngineSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.names = settings_cls.variables
        self.environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        blank = False  # set but empty: the value unless a later name has one
        for name in self.names(field_name):
            raw = self.environ.get(name)
            if raw is not None and raw.strip():
                return raw.strip(), field_name, False
            blank = blank or raw is not None
        return ("" if blank else None), field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for field_name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, field_name)
            if value is not None:
                values[key] = value
        return values


def parse(raw: str, annotation: Any, name: str) -> Any:
    """A variable's text as its field's type; fields of other types get the text itself."""
    if annotation is bool:
        return parse_bool(raw, name)
    if annotation is int or annotation is float:
        return parse_number(raw, name, annotation)
    if get_origin(annotation) is Literal:
        return parse_choice(raw, name, get_args(annotation))
    if annotation == frozenset[Kind]:
        return parse_kinds(raw, name)
    return raw


def parse_kinds(raw: str, name: str) -> frozenset[Kind]:
    kinds: set[Kind] = set()
    for part in raw.replace(" ", ",").split(","):
        if not part:
            continue
        match = next((kind for kind in KINDS if kind == part.strip().lower()), None)
        if match is None:
            raise ValueError(f"{name}: unknown kind {part!r}; choose from {', '.join(KINDS)}")
        kinds.add(match)
    return frozenset(kinds)


def parse_bool(raw: str, name: str) -> bool:
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"{name} must be 1/0, true/false, yes/no or on/off, not {raw!r}")


def parse_number(raw: str, name: str, kind: type[int] | type[float]) -> int | float:
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None


def parse_choice(raw: str, name: str, choices: tuple[str, ...]) -> str:
    if raw not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return raw


def explain(cls: type[EngineSettings], error: ValidationError) -> str:
    """The messages of a failed validation: our own as raised (they name their variable),
    pydantic's prefixed with the variable of the field they are about."""
    messages: list[str] = []
    for problem in error.errors():
        cause = problem.get("ctx", {}).get("error")
        if isinstance(cause, ValueError):
            message = str(cause)
        else:
            field = problem["loc"][0] if problem["loc"] else None
            named = isinstance(field, str) and field in cls.model_fields
            where = cls.variables(str(field))[0] if named else cls.__name__
            message = f"{where}: {problem['msg']}"
        if message not in messages:
            messages.append(message)
    return "; ".join(messages)
