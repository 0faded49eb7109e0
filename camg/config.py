"""Configuration: one typed object built at the entry point (defaults < TOML file < CAMG_* env).

Every setting is a field of `Settings`; its environment variable is `CAMG_` + the field name in
capitals (`marts_dir` -> `CAMG_MARTS_DIR`), and in a TOML file it is a key of the `[camg]` table.
Relative paths are relative to the working directory of the command.
"""

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ENV_PREFIX = "CAMG_"
# The settings file read when no --config / CAMG_CONFIG names one (only if it exists).
DEFAULT_TOML = Path("camg.toml")
CONFIG_ENV = "CAMG_CONFIG"
TRUE_TEXT = {"1", "true", "yes", "on"}
FALSE_TEXT = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Settings:
    """Where camg reads and writes, and how it runs (the README's Configuration table)."""

    raw_dir: Path = Path("data/raw")
    marts_dir: Path = Path("data/marts")
    reports_dir: Path = Path("reports")
    reference_dir: Path = Path("reference")
    keep_runs: int = 7
    study: str = ""
    schedule_cron: str = "0 2 * * *"
    timezone: str = ""
    deployment_name: str = "nightly"
    lock_timeout_seconds: float = 1800.0
    log_dir: Path = Path("data/logs")
    log_level: str = "INFO"
    log_max_bytes: int = 5_000_000
    log_backup_count: int = 5
    prefect_port: int = 4200
    # Where per-file work runs: "" Prefect's default runner, "local" a Dask LocalCluster, tcp://...
    dask_scheduler: str = ""
    # How many files the default (thread) runner works on at once: each holds one file or slice in
    # memory, so this multiplies peak memory; polars already uses every core inside one file.
    file_workers: int = 2

    def __post_init__(self) -> None:
        """Refuse values that would only fail later, in the middle of a nightly run."""
        for name in ("keep_runs", "log_max_bytes", "prefect_port", "file_workers"):
            if getattr(self, name) <= 0:
                raise ValueError(f"camg setting {name} must be > 0, got {getattr(self, name)}")
        if self.lock_timeout_seconds < 0:
            raise ValueError("camg setting lock_timeout_seconds must be >= 0")
        if self.study and (Path(self.study).name != self.study or self.study.startswith(".")):
            raise ValueError(f"camg setting study must be a batch folder name, got {self.study!r}")
        if len(self.schedule_cron.split()) != 5:
            raise ValueError(f"schedule_cron needs 5 fields, got {self.schedule_cron!r}")
        if self.timezone:
            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown timezone {self.timezone!r}") from exc

    @classmethod
    def load(
        cls,
        toml_path: Path | None = None,
        environ: dict[str, str] | None = None,
        **overrides: object,
    ) -> "Settings":
        """Defaults, then the TOML file's `[camg]` table, then CAMG_* variables, then overrides.

        The TOML file is `toml_path`, else $CAMG_CONFIG, else ./camg.toml when it exists; a file
        named explicitly must exist.
        """
        env = os.environ if environ is None else environ
        settings = cls()
        path = toml_path or (Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV) else None)
        if path is not None and not path.is_file():
            raise FileNotFoundError(f"camg settings file not found: {path}")
        path = path or (DEFAULT_TOML if DEFAULT_TOML.is_file() else None)
        if path is not None:
            table = tomllib.loads(path.read_text(encoding="utf-8")).get("camg", {})
            settings = settings._with(table)
        from_env = {
            f.name: env[ENV_PREFIX + f.name.upper()]
            for f in fields(cls)
            if ENV_PREFIX + f.name.upper() in env
        }
        settings = settings._with(from_env)
        return settings._with({k: v for k, v in overrides.items() if v is not None})

    def _with(self, values: dict[str, object]) -> "Settings":
        """A copy with values converted to each field's type; unknown keys are an error."""
        types = get_type_hints(type(self))
        unknown = set(values) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"unknown camg settings: {sorted(unknown)}")
        return replace(self, **{key: converted(types[key], v) for key, v in values.items()})

    def resolved(self) -> "Settings":
        """The same settings with absolute paths (a served deployment must not depend on its cwd)."""
        paths = {f.name: getattr(self, f.name) for f in fields(self)}
        return replace(self, **{k: v.resolve() for k, v in paths.items() if isinstance(v, Path)})

    def report_key_path(self) -> Path:
        """The participant-report key: beside the marts, never inside the published reports."""
        return self.marts_dir / ".report_key"

    def local_timezone(self) -> str:
        """The schedule's IANA timezone: the setting, else the machine's own zone, else UTC."""
        return self.timezone or machine_timezone()


def converted(kind: type, value: object) -> object:
    """A TOML or environment value as the field's type ("false" is False, not a truthy string)."""
    if kind is bool and isinstance(value, str):
        text = value.strip().lower()
        if text not in TRUE_TEXT | FALSE_TEXT:
            raise ValueError(f"not a yes/no value: {value!r}")
        return text in TRUE_TEXT
    if kind is Path:
        return Path(str(value)).expanduser()
    if kind in (int, float) and isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    return kind(value)


def machine_timezone() -> str:
    """The machine's IANA zone from $TZ or /etc/localtime's link (containers often have neither)."""
    name = os.environ.get("TZ", "").lstrip(":")
    if not name:
        localtime = Path("/etc/localtime")
        target = str(localtime.resolve()) if localtime.is_symlink() else ""
        name = target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else ""
    if not name:
        timezone_file = Path("/etc/timezone")
        name = timezone_file.read_text().strip() if timezone_file.is_file() else ""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name
