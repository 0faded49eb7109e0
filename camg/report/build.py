"""Report build: published marts -> reports/ (index, population, dietitian and participant pages).

The whole set is written into a fresh folder beside `reports_dir` and swapped in at the end, so a
downloader never sees half a set. Participant and dietitian pages get keyed names (see `keys`); the
map from ids to files, the study team's private index, is written beside the key, outside `reports/`.
"""

import csv
import itertools
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from camg.report.dietitian import dietitian_row, risk_counts
from camg.report.flags import flag_texts
from camg.report.keys import load_or_create_key, participant_token, study_dir_name, team_token
from camg.report.load import MartData, load_marts
from camg.report.names import food_names
from camg.report.participant import participant_view
from camg.report.population import population_view
from camg.report.render import Renderer
from camg.report.rules import Rules
from camg.report.suggest import Candidate, candidate_foods
from camg.report.swap import building_dir, swap_in

INDEX_NAME = "report_index.csv"
SPREADSHEET_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ReportSummary:
    """What a build wrote."""

    reports_dir: Path
    index_path: Path
    n_studies: int
    n_participants: int
    n_files: int


@dataclass(frozen=True)
class BuildContext:
    """What every study's pages share."""

    marts: MartData
    rules: Rules
    names: dict
    candidates: list[Candidate]
    renderer: Renderer
    key: bytes
    foods: dict[tuple[str, str], list[dict]]


def _page_meta(marts: MartData) -> dict[str, str]:
    """Run facts every page shows (from the run, so identical marts give identical pages)."""
    run = marts.run_log.sort("finished_at").row(-1, named=True) if marts.run_log.height else {}
    return {
        "run_id": str(run.get("run_id", "unknown")),
        "generated": str(run.get("finished_at", "unknown")),
        "code_version": str(run.get("code_version", "unknown")),
        "rules_version": str(run.get("rules_version", "unknown")),
    }


def _foods_by_person(marts: MartData) -> dict[tuple[str, str], list[dict]]:
    """Each person's top food rows (the query returns them ordered by study and person)."""
    rows = marts.person_top_foods.to_dicts()
    return {
        key: list(group)
        for key, group in itertools.groupby(rows, key=lambda r: (r["study_id"], r["person_id"]))
    }


def write_study(
    ctx: BuildContext, folder: Path, study_id: str, persons: list[dict]
) -> list[list[str]]:
    """One study's population, participant and dietitian pages; its private index rows."""
    (folder / "p").mkdir(parents=True)
    bands = ctx.rules.bands()
    view = population_view(ctx.marts, study_id, ctx.rules, ctx.names)
    (folder / "population.html").write_text(
        ctx.renderer.render("population", view=view), encoding="utf-8"
    )
    index, rows = [[study_id, "", "population", f"{folder.name}/population.html"]], []
    for person in persons:
        href = f"p/{participant_token(ctx.key, study_id, person['person_id'])}.html"
        page = participant_view(
            person,
            ctx.foods.get((study_id, person["person_id"]), []),
            ctx.candidates,
            bands,
            ctx.names,
        )
        (folder / href).write_text(ctx.renderer.render("participant", view=page), encoding="utf-8")
        rows.append(dietitian_row(person, href, bands))
        index.append([study_id, person["person_id"], "participant", f"{folder.name}/{href}"])
    team_file = f"team-{team_token(ctx.key, study_id)}.html"
    team = {
        "study_id": study_id,
        "n": f"{len(rows):,}",
        "rows": rows,
        "risk_counts": risk_counts(rows),
        "flag_options": [short for short, _ in flag_texts(bands).values()],
    }
    (folder / team_file).write_text(
        ctx.renderer.render("dietitian", with_script=True, view=team), encoding="utf-8"
    )
    index.append([study_id, "", "dietitian", f"{folder.name}/{team_file}"])
    return index


def _spreadsheet_safe(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula (ids are untrusted text)."""
    return f"'{cell}" if cell.startswith(SPREADSHEET_FORMULA_START) else cell


def write_private_index(path: Path, rows: list[list[str]]) -> None:
    """The team's map from ids to report files (mode 0600, replaced atomically)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["study_id", "person_id", "report", "path_in_reports_dir"])
        writer.writerows([[_spreadsheet_safe(c) for c in row] for row in rows])
    os.replace(tmp, path)


def build_reports(
    marts_db: Path, reports_dir: Path, key_path: Path, reference_dir: Path | None = None
) -> ReportSummary:
    """Build every report from the published marts and swap the new set into `reports_dir`."""
    reports_dir, key_path = reports_dir.resolve(), key_path.resolve()
    if key_path.is_relative_to(reports_dir):
        raise ValueError(f"the report key must live outside {reports_dir}, got {key_path}")
    marts = load_marts(marts_db)
    rules = Rules(marts.reference_rules)
    names = food_names(reference_dir)
    ctx = BuildContext(
        marts,
        rules,
        names,
        candidate_foods(marts.food_portions, rules, names),
        Renderer(_page_meta(marts)),
        load_or_create_key(key_path),
        _foods_by_person(marts),
    )
    staging = building_dir(reports_dir)
    try:
        index, studies = [], []
        for (study_id,), persons in marts.persons.partition_by(
            "study_id", as_dict=True, maintain_order=True
        ).items():
            folder = staging / study_dir_name(study_id)
            index += write_study(ctx, folder, study_id, persons.to_dicts())
            studies.append(
                {
                    "study_id": study_id,
                    "href": f"{folder.name}/population.html",
                    "n": f"{persons.height:,}",
                }
            )
        (staging / "index.html").write_text(
            ctx.renderer.render("index", studies=studies), encoding="utf-8"
        )
        if (reports_dir / ".gitkeep").exists():
            (staging / ".gitkeep").touch()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    index_path = key_path.with_name(INDEX_NAME)
    write_private_index(index_path, index)
    swap_in(staging, reports_dir)
    return ReportSummary(
        reports_dir, index_path, len(studies), marts.persons.height, len(index) + 1
    )
