"""Configuration: one typed object built at the entry point (defaults < TOML file < CAMG_* env)."""

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

ENV_PREFIX = "CAMG_"


@dataclass(frozen=True)
class Settings:
    """Where camg reads and writes, and how it runs."""

    raw_dir: Path = Path("data/raw")
    marts_dir: Path = Path("data/marts")
    reports_dir: Path = Path("reports")
    reference_dir: Path = Path("reference")
    keep_runs: int = 7
    schedule_cron: str = "0 2 * * *"
    timezone: str = "UTC"
    log_dir: Path = Path("data/logs")

    @classmethod
    def load(
        cls,
        toml_path: Path | None = None,
        environ: dict[str, str] | None = None,
        **overrides: object,
    ) -> "Settings":
        """Defaults, then the TOML file's `[camg]` table, then CAMG_* variables, then overrides."""
        settings = cls()
        if toml_path is not None and toml_path.exists():
            table = tomllib.loads(toml_path.read_text(encoding="utf-8")).get("camg", {})
            settings = settings._with(table)
        env = os.environ if environ is None else environ
        from_env = {
            f.name: env[ENV_PREFIX + f.name.upper()]
            for f in fields(cls)
            if ENV_PREFIX + f.name.upper() in env
        }
        settings = settings._with(from_env)
        return settings._with({k: v for k, v in overrides.items() if v is not None})

    def _with(self, values: dict[str, object]) -> "Settings":
        """A copy with values converted to each field's type; unknown keys are an error."""
        types = {f.name: type(getattr(self, f.name)) for f in fields(self)}
        unknown = set(values) - set(types)
        if unknown:
            raise ValueError(f"unknown camg settings: {sorted(unknown)}")
        converted = {}
        for key, value in values.items():
            kind = types[key]
            converted[key] = Path(str(value)) if kind is Path else kind(value)
        return replace(self, **converted)
