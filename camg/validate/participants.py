"""Validate stage for participants: raw participant rows -> typed `Participant` rows, or quarantine.

Diary rows are checked against these validated participants (`camg.validate.diary_rows`), so a person whose
row was quarantined here has their diary rows quarantined as `participant.missing`.
"""

import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from camg.ingest import combine, sidecar
from camg.ingest.batch import FileRead
from camg.ingest.cells import number, text
from camg.ingest.sidecar import usable_weight
from camg.ops.cache import code_hash, folder_heights, prune_folders, write_folder
from camg.ops.failure import error_line
from camg.reference import Reference
from camg.validate.diary_cells import WEIGHT_COLUMNS
from camg.validate.rules import (
    Rule,
    Validated,
    apply_rules,
    quarantine_rows,
    reader_rules,
    split_on_schema,
)
from schemas import empty_frame
from schemas.participants import LIFE_STAGES, Participant
from schemas.quarantine import QuarantineRow

LOG = logging.getLogger(__name__)
PEOPLE_DIR = Path(".cache") / "participants"
FAILED_RULE = "file.failed"
# Code whose change changes a study's validated participants (readers are in the files' cache keys).

SEX_CODES = {
    "male": "male",
    "m": "male",
    "1": "male",
    "female": "female",
    "f": "female",
    "2": "female",
}


def participant_rules(reference: Reference) -> list[Rule]:
    """The named rules for participant rows, in the order they are checked."""
    age_max = reference.threshold("plausibility.age_months_max")
    weight_max = reference.threshold("plausibility.survey_weight_max")
    sex = text("sex").str.to_lowercase()
    stage = text("life_stage").str.to_lowercase()
    return [
        *reader_rules(),
        Rule("person_id.missing", "participant id is empty", text("person_id").is_null()),
        Rule(
            "participant.invalid_sex",
            "sex is not male/female (M/F, 1/2)",
            ~sex.is_in(list(SEX_CODES)).fill_null(False),
        ),
        Rule(
            "participant.impossible_age",
            f"age is missing, negative or above {age_max:.0f} months",
            ~known_age_months().is_between(0, age_max).fill_null(False),
        ),
        Rule(
            "participant.invalid_life_stage",
            f"life stage is not one of {LIFE_STAGES}",
            stage.is_not_null() & ~stage.is_in(LIFE_STAGES),
        ),
        Rule(
            "participant.invalid_design",
            f"survey weight is negative, above {weight_max:.0f}, infinite or not a number",
            ~valid_weight("weight", weight_max) | ~valid_weight("weight_two_day", weight_max),
        ),
    ]


def valid_weight(column: str, max_weight: float) -> pl.Expr:
    """True when the weight column is empty or a number from 0 to `max_weight` (the weight rule)."""
    return text(column).is_null() | usable_weight(column, max_weight).is_not_null()


def known_age_months() -> pl.Expr:
    """The age the row gives, in months (`age_months`, else years x 12): for the range check."""
    return pl.coalesce(number("age_months").floor(), number("age_years").floor() * 12)


def age_in_months() -> pl.Expr:
    """Age in whole months: `age_months` when given, else whole years x 12 from one year on.

    Under one year, years say nothing about the month (NHANES 2007-2012 DEMO has no RIDAGEMN):
    the month stays unknown (null), never 0, and such an infant gets no DRI group.
    """
    years = number("age_years").floor()
    from_years = pl.when(years >= 1).then(years * 12)
    return pl.coalesce(number("age_months").floor(), from_years)


def optional_text(raw: pl.DataFrame, column: str) -> pl.Expr:
    """A text column that older readers (and their cached rows) may lack: null then."""
    value = text(column) if column in raw.columns else pl.lit(None, dtype=pl.String)
    return value.alias(column)


def validate_participants(raw: pl.DataFrame, reference: Reference) -> Validated:
    """Raw participant rows -> `Participant` rows and quarantine; a repeated id keeps its first row."""
    checked = apply_rules(raw, participant_rules(reference))
    first = (
        pl.int_range(pl.len()).over(["study_id", text("person_id")], order_by="source_line") == 0
    )
    passed = checked.filter(pl.col("rule_id").is_null())
    dup = passed.filter(~first).with_columns(
        pl.lit("participant.duplicate").alias("rule_id"),
        pl.lit("participant id repeats an earlier row of this study").alias("message"),
    )
    typed = passed.filter(first).select(
        "study_id",
        text("person_id").alias("person_id"),
        text("sex").str.to_lowercase().replace_strict(SEX_CODES, default=None).alias("sex"),
        age_in_months().cast(pl.Int64).alias("age_months"),
        text("life_stage").str.to_lowercase().fill_null("general").alias("life_stage"),
        number("weight").alias("weight"),
        number("weight_two_day").alias("weight_two_day"),
        text("strata").alias("strata"),
        text("psu").alias("psu"),
        optional_text(checked, "survey_cycle"),
        "source_file",
        "source_line",
        "raw_line",
    )
    good, bad_schema = split_on_schema(typed, Participant, carry=["raw_line"])
    bad_by_rule = checked.filter(pl.col("rule_id").is_not_null())
    quarantine = quarantine_rows([bad_by_rule, dup, bad_schema], "participant")
    return Validated(good.drop("raw_line"), quarantine)


@dataclass(frozen=True)
class People:
    """A run's validated participants: each study's kept rows in a Parquet file, the quarantine in memory.

    At 50 M diary rows the kept rows were 1.8 M participants (~250 MB, twice that while the mart was
    sorted) held from validation to publishing; a run now holds their files and counts.
    """

    paths: dict[str, str]  # study_id -> its kept rows, sorted by person id; studies in sorted order
    files: (
        pl.DataFrame
    )  # study_id, source_file, survey_cycle, rows_kept: kept rows per file and cycle
    quarantine: pl.DataFrame
    # Studies whose participant validation raised (`validated_or_failed`): study_id -> error line.
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def height(self) -> int:
        """Kept participants of every study."""
        return int(self.files["rows_kept"].sum())

    def of(self, study_id: str | None, columns: list[str] | None = None) -> pl.DataFrame:
        """One study's kept participants, sorted by person id (no rows for a study without any)."""
        path = self.paths.get(study_id) if study_id is not None else None
        if path is None:
            empty = empty_frame(Participant)
            return empty.select(columns) if columns else empty
        return pl.read_parquet(path, columns=columns)

    def frame(self, columns: list[str] | None = None) -> pl.DataFrame:
        """Every study's kept participants in one frame, by study and person (tests and small runs)."""
        return pl.concat([self.of(None, columns), *(self.of(s, columns) for s in self.paths)])


def people_code_version() -> str:
    """A hash of the code that validates participants and attaches their weights."""
    return code_hash()


def study_people_key(reads: list[FileRead], study_id: str, reference: Reference) -> str | None:
    """The content key of one study's validated participants, or None when a file has no cache key.

    Its files' ingest-cache keys stand for their rows and weights (in file order: the first weight
    found wins), with the code and rules versions.
    """
    in_study = [r for r in reads if r.study_id == study_id]
    if any(r.cache_key is None and r.rows_in for r in in_study):
        return None
    texts = [people_code_version(), reference.rules_version, study_id]
    texts += [f"{r.source_file}\x01{r.cache_key}" for r in in_study]
    digest = hashlib.sha256()
    for value in texts:
        digest.update(value.encode("utf-8", errors="surrogatepass") + b"\0")
    return digest.hexdigest()


def validate_study(
    reads: list[FileRead], study_id: str, marts_dir: Path, reference: Reference
) -> dict[str, pl.DataFrame]:
    """One study's participants validated, with the weights its diary files carry, by kind."""
    raw = combine.study_participants(reads, study_id, marts_dir)
    checked = validate_participants(raw, reference)
    weights = combine.study_weights(reads, study_id, marts_dir)
    # Diary rows with an implausible weight are quarantined (weight.invalid): their weight is no one's.
    weight_max = reference.threshold("plausibility.survey_weight_max")
    weights = weights.with_columns(
        pl.when(pl.col(c) <= weight_max).then(pl.col(c)).alias(c) for c in WEIGHT_COLUMNS
    )
    kept = attach_weights(checked.kept, weights)
    return {"kept": kept.sort("person_id", maintain_order=True), "quarantine": checked.quarantine}


def validate_by_study(reads: list[FileRead], marts_dir: Path, reference: Reference) -> People:
    """Every study's participants validated in turn, kept on disk under `<marts>/.cache/participants/`.

    A run's first pass leaves participant rows in the ingest cache; one study's are read, validated
    (a repeated id is a repeat within its study) and given their dietary weights (`attach_weights`)
    at a time, so a run never holds every participant row. A study whose key (`study_people_key`) is
    unchanged is reused without reading a row. Same rows as doing it all at once.
    """
    root = marts_dir / PEOPLE_DIR
    paths, folders, quarantine = {}, [], [empty_frame(QuarantineRow)]
    failed: dict[str, str] = {}
    for study_id in sorted({r.study_id for r in reads if r.n_participants}):
        key = study_people_key(reads, study_id, reference)
        folder = root / (key or f"unkeyed-{uuid.uuid4().hex}")
        if key is None or folder_heights(folder) is None:
            frames, error = validated_or_failed(reads, study_id, marts_dir, reference)
            if error is not None:  # never cached: the next run tries again
                failed[study_id] = error
                folder = root / f"unkeyed-{uuid.uuid4().hex}"
            write_folder(folder, frames)
        paths[study_id] = str(folder / "kept.parquet")
        folders.append(folder)
        quarantine.append(pl.read_parquet(folder / "quarantine.parquet"))
    prune_folders(root, folders)
    keys = ["study_id", "source_file", "survey_cycle"]
    files = [pl.read_parquet(p, columns=keys) for p in paths.values()]
    counts = (
        pl.concat([pl.DataFrame(schema=dict.fromkeys(keys, pl.String)), *files])
        .group_by(keys, maintain_order=True)
        .agg(pl.len().cast(pl.Int64).alias("rows_kept"))
    )
    return People(paths, counts, pl.concat(quarantine), failed)


def validated_or_failed(
    reads: list[FileRead], study_id: str, marts_dir: Path, reference: Reference
) -> tuple[dict[str, pl.DataFrame], str | None]:
    """`validate_study`, or, when it raises, no one kept and every row quarantined as file.failed.

    Whatever one study's participants raise is that study's failure (issue 17): logged once with
    its traceback, its files `failed` in the manifest, the study `failed` in study_status.
    """
    try:
        return validate_study(reads, study_id, marts_dir, reference), None
    except Exception as exc:
        LOG.error("participants of study %r not validated", study_id, exc_info=exc)
        error = f"validating the participants raised an unexpected error: {error_line(exc)}"
    raw = combine.study_participants(reads, study_id, marts_dir)
    rows = raw.with_columns(pl.lit(FAILED_RULE).alias("rule_id"), pl.lit(error).alias("message"))
    return {
        "kept": empty_frame(Participant),
        "quarantine": quarantine_rows(rows, "participant"),
    }, error


def attach_dietary_weights(participants: pl.DataFrame, raw_diary: pl.DataFrame) -> pl.DataFrame:
    """Fill participants' survey weights from the diary export where the export carries them.

    NHANES puts the dietary day-1 and two-day weights (WTDRD1, WTDR2D) on every food row, not in DEMO.
    """
    return attach_weights(participants, sidecar.dietary_weights(raw_diary))


def attach_weights(participants: pl.DataFrame, weights: pl.DataFrame) -> pl.DataFrame:
    """Participants with missing survey weights filled from the diary's (`camg.ingest.sidecar`)."""
    weights = weights.rename({"weight_one_day": "_w1", "weight_two_day": "_w2"})
    return Participant.validate(
        participants.join(weights, on=["study_id", "person_id"], how="left", maintain_order="left")
        .with_columns(
            pl.coalesce("weight", "_w1").alias("weight"),
            pl.coalesce("weight_two_day", "_w2").alias("weight_two_day"),
        )
        .drop("_w1", "_w2")
    )
