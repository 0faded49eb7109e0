"""Ingest helper: a batch's optional `study.toml` -> how to read that batch's files.

```toml
format = "food_record"      # nhanes | asa24 | food_record: only that family's readers (+ participants)
food_system = "sr"          # default food system for rows that name none
[design]                    # participants-file columns holding the survey design
weight = "survey_weight"
strata = "stratum"
psu = "cluster"
survey_cycle = "wave"       # the survey cycle (wave) of each person, when a study holds several
```
Without the file every format is recognised from content and rows name their own food system.
"""

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

STUDY_FILE = "study.toml"
FORMAT_FAMILIES = ("nhanes", "asa24", "food_record")
DESIGN_COLUMNS = ("weight", "strata", "psu", "survey_cycle")
STUDY_KEYS = {"format", "food_system", "design"}


class StudyConfigError(ValueError):
    """The study.toml cannot be used (bad TOML, an unknown key or format)."""


@dataclass(frozen=True)
class StudyConfig:
    """How a batch's files are read: format family, default food system, design column names."""

    format: str | None = None
    food_system: str | None = None
    design: dict[str, str] = field(default_factory=dict)
    digest: str = ""


@dataclass(frozen=True)
class Source:
    """Where rows come from: the file (relative to raw/), its batch and that batch's config."""

    source_file: str
    study_id: str
    study: StudyConfig = field(default_factory=StudyConfig)


def _text_value(table: dict, key: str) -> str | None:
    """A string setting, or None; anything else is an error."""
    value = table.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise StudyConfigError(f"{key} must be a non-empty string")
    return value.strip() if value is not None else None


def parse_study(data: bytes) -> StudyConfig:
    """A StudyConfig from study.toml bytes; raises StudyConfigError on anything it cannot use."""
    try:
        table = tomllib.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise StudyConfigError(f"study.toml is not valid TOML: {exc}") from exc
    unknown = set(table) - STUDY_KEYS
    if unknown:
        raise StudyConfigError(f"unknown study.toml keys: {sorted(unknown)}")
    fmt = _text_value(table, "format")
    if fmt is not None and fmt not in FORMAT_FAMILIES:
        raise StudyConfigError(f"format {fmt!r} is not one of {list(FORMAT_FAMILIES)}")
    design = table.get("design", {})
    if not isinstance(design, dict) or set(design) - set(DESIGN_COLUMNS):
        raise StudyConfigError(f"[design] may only name columns for {list(DESIGN_COLUMNS)}")
    food_system = _text_value(table, "food_system")
    return StudyConfig(
        format=fmt,
        food_system=food_system.lower() if food_system else None,
        design={k: _text_value(design, k) or k for k in design},
        digest=hashlib.sha256(data).hexdigest(),
    )


def load_study(batch_dir: Path) -> tuple[StudyConfig, str | None]:
    """The batch's config and, when its study.toml is unusable, the error (defaults then apply)."""
    path = batch_dir / STUDY_FILE
    if not path.is_file():
        return StudyConfig(), None
    if path.is_symlink() and not path.resolve().is_relative_to(batch_dir.parent.resolve()):
        return StudyConfig(), "study.toml is a link leading outside the raw folder: not read"
    try:
        return parse_study(path.read_bytes()), None
    except (OSError, StudyConfigError) as exc:
        return StudyConfig(), str(exc)
