"""One settings object for the whole of kracht.

Every knob lives here so that the CLI, the Python API and the Prefect flows read the same
configuration: environment variables ``KRACHT_*`` win over ``kracht.toml`` (or the file named by
``KRACHT_CONFIG``), which wins over the defaults below. Secrets are ``SecretStr`` so they are never
printed by accident.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CODEBOOK = PROJECT_ROOT / "data" / "codebook.yaml"
MODELS_DIR = PROJECT_ROOT / "models"


def _config_file() -> Path:
    return Path(os.environ.get("KRACHT_CONFIG", "kracht.toml"))


class Schedule(BaseModel):
    """A flow deployment that ``kracht serve`` registers (cron or interval, plus parameters)."""

    name: str
    flow: str
    cron: str | None = None
    interval_seconds: int | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)


class PrivacySettings(BaseModel):
    """What the pseudonymizer replaces and what it must leave alone."""

    enabled: bool = True
    categories: list[str] = Field(
        default_factory=lambda: [
            "persoon",
            "adres",
            "postcode",
            "locatie",
            "telefoon",
            "email",
            "bsn",
            "url",
            "id",
        ]
    )
    replace_dates: bool = False
    allow_list: list[str] = Field(default_factory=list)
    deny_list: dict[str, list[str]] = Field(
        default_factory=dict,
        description="extra names to remove, per collection ('*' applies to every collection)",
    )


class Settings(BaseSettings):
    """kracht's configuration; build one per command or flow run and pass it down."""

    model_config = SettingsConfigDict(
        env_prefix="KRACHT_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    home: Path = Field(default=Path(".kracht"), description="store, caches and outputs")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite in home")
    codebook: Path = DEFAULT_CODEBOOK
    keep_raw_text: bool = Field(default=False, description="opt-in: keep raw text locally")
    max_file_mb: float = 50.0
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)

    segment_max_chars: int = 600
    segment_max_sentences: int = 3

    nlp: str = Field(default="auto", description="auto | a spaCy package or path | blank")
    nlp_disable: list[str] = Field(default_factory=list, description="components off in tagging")
    batch_size: int = 256
    n_process: int = 1
    model: str | None = Field(default=None, description="classifier NAME@VERSION; None = default")
    use_model: bool = True

    ls_url: str | None = None
    ls_token: SecretStr | None = None
    ls_project: str = "kracht review"

    prefect_api_url: str | None = None
    schedules: list[Schedule] = Field(default_factory=list)
    inbox: Path | None = None

    report_language: str = "nl"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file()
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'kracht.db').resolve()}"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def output_dir(self) -> Path:
        return self.home / "reports"

    def ensure_dirs(self) -> None:
        for path in (self.home, self.cache_dir, self.output_dir):
            path.mkdir(parents=True, exist_ok=True)


def get_settings(**overrides: Any) -> Settings:
    """Read settings now (not at import) so tests and flows can change the environment."""
    return Settings(**overrides)
