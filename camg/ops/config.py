"""Configuration: one typed object built at the entry point (defaults < TOML file < CAMG_* env).

Every setting is a field of `Settings`; its environment variable is `CAMG_` + the field name in
capitals (`marts_dir` -> `CAMG_MARTS_DIR`), and in a TOML file it is a key of the `[camg]` table.
Relative paths are relative to the working directory of the command.
"""

import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from camg.ops.cron import cron_problem

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
    # Bytes a compressed raw file may expand to; past it the file is failed, not read into memory.
    max_expanded_bytes: int = 1 << 30
    # Regular raw files (UTF-8, no quotes, one record a line) read by the engine (polars); false:
    # camg's own Python parse reads every file (the old-vs-new marts test compares the two).
    engine_reader: bool = True

    def __post_init__(self) -> None:
        """Refuse values that would only fail later, in the middle of a nightly run."""
        for field in fields(self):
            value = getattr(self, field.name)
            reason = problem(field.name, value)
            if reason:
                raise SettingsError(f"camg setting {field.name} = {value!r}: {reason}")

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
            try:
                table = tomllib.loads(path.read_text(encoding="utf-8")).get("camg", {})
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise SettingsError(f"camg settings file {path}: {exc}") from exc
            settings = settings._with(table, f"in {path}")
        from_env = {
            f.name: env[ENV_PREFIX + f.name.upper()]
            for f in fields(cls)
            if ENV_PREFIX + f.name.upper() in env
        }
        settings = settings._with(from_env, "environment")
        return settings._with({k: v for k, v in overrides.items() if v is not None}, "option")

    def _with(self, values: dict[str, object], origin: str) -> "Settings":
        """A copy with values converted to each field's type and checked, one at a time.

        A refused value names the setting as the user wrote it (`CAMG_KEEP_RUNS`, a key of the
        TOML file, a command-line option) and the value, so the message says what to fix.
        """
        types = get_type_hints(type(self))
        unknown = set(values) - {f.name for f in fields(self)}
        if unknown:
            raise SettingsError(f"unknown camg settings {origin}: {sorted(unknown)}")
        checked = {}
        for key, value in values.items():
            label = setting_label(key, origin)
            try:
                checked[key] = converted(types[key], value)
            except ValueError as exc:
                raise SettingsError(f"{label} = {value!r}: {exc}") from exc
            reason = problem(key, checked[key])
            if reason:
                raise SettingsError(f"{label} = {value!r}: {reason}")
        return replace(self, **checked)

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


class SettingsError(ValueError):
    """A setting with a wrong name or value (the command stops before it starts, exit 2)."""


def setting_label(name: str, origin: str) -> str:
    """How the user wrote a setting: its variable, its TOML key or its command-line option."""
    if origin == "environment":
        return ENV_PREFIX + name.upper()
    if origin == "option":
        return f"setting {name} (command-line option)"
    return f"{name} {origin}"


def positive(value: object) -> str:
    """Why a count or size is refused ("" when it is above zero)."""
    return "" if value > 0 else "must be above 0"  # type: ignore[operator]


def non_negative(value: object) -> str:
    """Why a count, size or time is refused ("" when it is zero or more, and finite)."""
    return "" if 0 <= value < float("inf") else "must be 0 or more"  # type: ignore[operator]


def batch_name_problem(study: str) -> str:
    """Why `study` is not a batch folder name ("" when it is, or empty: all batches)."""
    if study and (Path(study).name != study or study.startswith(".")):
        return "must be a batch folder name (no path, not hidden)"
    return ""


def timezone_problem(zone: str) -> str:
    """Why `zone` is not an IANA time zone ("" when it is one, or empty: the machine's)."""
    if not zone:
        return ""
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return "unknown timezone (an IANA name such as Europe/Paris)"
    return ""


def dask_problem(address: str) -> str:
    """Why `address` names no Dask scheduler ("" for none, `local` or `scheme://host:port`)."""
    if address in ("", "local") or "://" in address:
        return ""
    return "must be empty, 'local' or a scheduler address such as tcp://host:8786"


# Every check a setting's value must pass; settings not named here take any value of their type.
CHECKS: dict[str, Callable[[Any], str]] = {
    "keep_runs": positive,
    "log_max_bytes": positive,
    "file_workers": positive,
    "max_expanded_bytes": positive,
    "log_backup_count": non_negative,
    "lock_timeout_seconds": non_negative,
    "prefect_port": lambda port: "" if 0 < port < 65536 else "must be a port from 1 to 65535",
    "study": batch_name_problem,
    "schedule_cron": cron_problem,
    "timezone": timezone_problem,
    "log_level": lambda level: (
        "" if str(level).upper() in LOG_LEVELS else f"must be one of {', '.join(LOG_LEVELS)}"
    ),
    "deployment_name": lambda name: (
        "" if name and "/" not in name else "must be a name without '/'"
    ),
    "dask_scheduler": dask_problem,
}
LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def problem(name: str, value: object) -> str:
    """Why a setting's (typed) value is refused ("" when it is fine)."""
    check = CHECKS.get(name)
    return check(value) if check else ""


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
    if kind is int and isinstance(value, str):
        digits = value.strip().lstrip("+-")
        if not (digits.isascii() and digits.isdigit()):
            raise ValueError("not a whole number")
        return int(value)
    if kind is float and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise ValueError("not a number") from None
    if kind is int and isinstance(value, float):
        raise ValueError("not a whole number")
    if kind is str and not isinstance(value, str):
        raise ValueError("not text")
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
