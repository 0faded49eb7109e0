"""Report build: published marts -> reports/ (index, population, dietitian and participant pages).

Every page is rendered and handed to the store (`store`), which writes only pages whose bytes are
new and swaps in a folder of links to the run's pages, so a downloader never sees half a set and an
unchanged participant keeps their file. Pages name no run id or build time, so identical data give
identical bytes. Participant and dietitian pages get keyed names (see `keys`); the map from ids to
files, the study team's private index, is written beside the key, outside `reports/`.
"""

import itertools
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from camg.ops import progress
from camg.ops.failure import error_line
from camg.publish import kept_runs
from camg.report import store
from camg.report.charts import Bands
from camg.report.dietitian import island, island_json, risk_counts
from camg.report.downloads import csv_text, population_downloads
from camg.report.keys import load_or_create_key, participant_token, study_dir_name, team_token
from camg.report.load import MartData, load_marts
from camg.report.names import food_names
from camg.report.participant import participant_view
from camg.report.population import population_view
from camg.report.quality import quality_view
from camg.report.render import Renderer
from camg.report.rules import Rules
from camg.report.suggest import Candidate, GroupKey, Policy, candidates_by_group, for_person
from camg.report.summary import ReportSummary

INDEX_NAME = "report_index.csv"
QUALITY_PAGE = "quality.html"
logger = logging.getLogger(__name__)
PAGES_STEP = "participant pages"  # the progress line's name for rendering the pages


@dataclass(frozen=True)
class BuildContext:
    """What every study's pages share."""

    marts: MartData
    rules: Rules
    names: dict
    candidates: dict[GroupKey, list[Candidate]]
    policy: Policy | None
    renderer: Renderer
    key: bytes
    foods: dict[tuple[str, str], list[dict]]


def latest_run(marts: MartData) -> dict:
    """The run_log row of the published run (empty when the marts have none)."""
    return marts.run_log.sort("finished_at").row(-1, named=True) if marts.run_log.height else {}


def _page_meta(marts: MartData) -> dict[str, str]:
    """Versions every page shows: no run id or time, so unchanged data give unchanged pages."""
    run = latest_run(marts)
    return {
        "code_version": str(run.get("code_version", "unknown")),
        "rules_version": str(run.get("rules_version", "unknown")),
        "composition_version": str(run.get("composition_version", "unknown")),
    }


def _foods_by_person(marts: MartData) -> dict[tuple[str, str], list[dict]]:
    """Each person's top food rows (the query returns them ordered by study and person)."""
    rows = marts.person_top_foods.to_dicts()
    return {
        key: list(group)
        for key, group in itertools.groupby(rows, key=lambda r: (r["study_id"], r["person_id"]))
    }


def team_page(
    renderer: Renderer,
    bands: Bands,
    study_id: str,
    folder: str,
    persons: list[dict],
    tokens: list[str],
    assessment: dict | None = None,
) -> str:
    """A study's dietitian view: every participant in the page's data island.

    `assessment` is the population report's risk-by-DRI-group section (`camg.report.assessment`).
    """
    data = island(study_id, folder, persons, tokens, bands)
    view = {
        "study_id": study_id,
        "n": f"{len(persons):,}",
        "island": island_json(data),
        "risk_counts": risk_counts(data),
        "flag_options": data["codes"]["flags"],
        "assessment": assessment or {"levels": [], "rows": [], "n_unknown_month": ""},
    }
    return renderer.render("dietitian", with_script=True, view=view)


def write_study(
    ctx: BuildContext, pages: store.PageSet, folder: str, study_id: str, persons: list[dict]
) -> list[list[str]]:
    """One study's population, participant and dietitian pages; its private index rows."""
    bands = ctx.rules.bands()
    view = population_view(ctx.marts, study_id, ctx.rules, ctx.names)
    view["downloads"] = population_downloads(view, folder)
    pages.put(f"{folder}/population.html", ctx.renderer.render("population", view=view))
    index, tokens = [[study_id, "", "population", f"{folder}/population.html"]], []
    for person in persons:
        token = participant_token(ctx.key, study_id, person["person_id"])
        page = participant_view(
            person,
            ctx.foods.get((study_id, person["person_id"]), []),
            _suggestions(ctx, study_id, person),
            bands,
            ctx.names,
        )
        pages.put(f"{folder}/p/{token}.html", ctx.renderer.render("participant", view=page))
        progress.step_advanced(PAGES_STEP)
        tokens.append(token)
        index.append([study_id, person["person_id"], "participant", f"{folder}/p/{token}.html"])
    team_file = f"{folder}/team-{team_token(ctx.key, study_id)}.html"
    team = team_page(ctx.renderer, bands, study_id, folder, persons, tokens, view["assessment"])
    pages.put(team_file, team)
    index.append([study_id, "", "dietitian", team_file])
    return index


def _suggestions(ctx: BuildContext, study_id: str, person: dict) -> tuple[list, str | None]:
    """The foods suggested to one person (age-safe, their group's portions) or why there are none."""
    if ctx.policy is None:
        return [], None
    why = ctx.policy.why_none(person["age_months"])
    if why is None and person.get("assessment_status", "assessed") != "assessed":
        return [], "We could not assess your intake, so we do not suggest foods."
    pool = ctx.candidates.get((study_id, person["dri_age_group"]), [])
    ratio = person["calcium_to_magnesium_mass_ratio"]
    need = person.get("magnesium_rda_mg") or person.get("magnesium_ai_mg")
    return for_person(pool, ratio, person["age_months"], need, ctx.policy), why


def index_text(rows: list[list[str]]) -> str:
    """The team's map from ids to report files as CSV text (formula-looking cells defused)."""
    return csv_text(["study_id", "person_id", "report", "path_in_reports_dir"], rows)


def write_private_index(path: Path, rows: list[list[str]]) -> None:
    """The team's index (mode 0600, replaced atomically), written only when its text changed."""
    text = index_text(rows)
    if path.is_file() and path.read_bytes() == text.encode("utf-8"):
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
        out.write(text)
    os.replace(tmp, path)


def manifest_name(run: dict) -> str:
    """The manifest's name: the run id when it is a camg run id, else `unversioned`."""
    run_id = str(run.get("run_id", ""))
    return run_id if kept_runs.RUN_ID.match(run_id) else "unversioned"


def kept_run_ids(marts_db: Path) -> set[str]:
    """The runs the marts folder keeps (their report manifests are kept too)."""
    return set(kept_runs.kept_runs(marts_db.parent))


def render_pages(
    ctx: BuildContext, pages: store.PageSet
) -> tuple[list[list[str]], list[tuple[str, str]]]:
    """Render every page into the page set; the private index rows and the studies that failed.

    A study whose pages raise an unexpected error is that study's failure (issue 17): its pages
    are left out (logged once with the traceback), the index and quality pages name it, and every
    other study's pages are built. When every study fails, the first error is raised: the build
    fails and the previous reports stay.
    """
    progress.step_started(PAGES_STEP, ctx.marts.persons.height, "participants")
    index, studies, failed, first_error = [], [], [], None
    for (study_id,), persons in ctx.marts.persons.partition_by(
        "study_id", as_dict=True, maintain_order=True
    ).items():
        folder, before = study_dir_name(study_id), len(pages.pages)
        try:
            index += write_study(ctx, pages, folder, study_id, persons.to_dicts())
        except Exception as exc:  # whatever one study's pages raise is that study's failure
            logger.error("reports of study %r not built", study_id, exc_info=exc)
            for path in list(pages.pages)[before:]:
                del pages.pages[path]
            failed.append((study_id, error_line(exc)))
            first_error = first_error or exc
            continue
        studies.append(
            {"study_id": study_id, "href": f"{folder}/population.html", "n": f"{persons.height:,}"}
        )
    if first_error is not None and not studies:
        raise first_error
    not_built = [{"study_id": s, "error": e} for s, e in failed]
    pages.put("index.html", ctx.renderer.render("index", studies=studies, not_built=not_built))
    quality = quality_view(ctx.marts) | {"not_built": not_built}
    pages.put(QUALITY_PAGE, ctx.renderer.render("quality", view=quality))
    return index, failed


def build_reports(
    marts_db: Path, reports_dir: Path, key_path: Path, reference_dir: Path | None = None
) -> ReportSummary:
    """Build every report from the published marts; write changed pages and switch the folder."""
    reports_dir, key_path = reports_dir.resolve(), key_path.resolve()
    if key_path.is_relative_to(reports_dir):
        raise ValueError(f"the report key must live outside {reports_dir}, got {key_path}")
    progress.step_started("read marts for reports")
    marts = load_marts(marts_db)
    rules = Rules(marts.reference_rules)
    names = food_names(reference_dir)
    ctx = BuildContext(
        marts,
        rules,
        names,
        candidates_by_group(marts.food_portions, rules, names),
        Policy.from_rules(rules),
        Renderer(_page_meta(marts)),
        load_or_create_key(key_path),
        _foods_by_person(marts),
    )
    run_id = manifest_name(latest_run(marts))
    objects = store.store_dir(reports_dir)
    with store.store_lock(objects):
        pages = store.PageSet(objects)
        index, failed = render_pages(ctx, pages)
        switched = publish_pages(pages.pages, index, reports_dir, key_path, run_id)
        store.prune(objects, key_path.parent / store.MANIFESTS, kept_run_ids(marts_db) | {run_id})
    summary = ReportSummary(
        reports_dir,
        key_path.with_name(INDEX_NAME),
        run_id,
        marts.persons["study_id"].n_unique() - len(failed),
        marts.persons.height,
        len(pages.pages),
        pages.written,
        switched,
        tuple(failed),
    )
    logger.info("%s", summary)
    return summary


def publish_pages(
    pages: dict[str, str], index: list[list[str]], reports_dir: Path, key_path: Path, run_id: str
) -> bool:
    """Record the run's manifest, switch the folder to its pages, and write the private index."""
    store.write_manifest(store.manifest_path(key_path, run_id), run_id, pages, index)
    switched = store.materialise(store.store_dir(reports_dir), pages, reports_dir)
    write_private_index(key_path.with_name(INDEX_NAME), index)
    return switched


def switch_reports(
    marts_db: Path, reports_dir: Path, key_path: Path, reference_dir: Path | None = None
) -> ReportSummary:
    """After a rollback: show the published run's reports again, from its manifest when kept.

    Nothing is rendered when the run's manifest and objects are there; otherwise (a run published
    with --no-reports, or one whose pages were pruned) the reports are built from its marts.
    """
    reports_dir, key_path = reports_dir.resolve(), key_path.resolve()
    run_id = kept_runs.current_run_id(marts_db.parent) or "unversioned"
    objects = store.store_dir(reports_dir)
    with store.store_lock(objects):
        found = store.read_manifest(store.manifest_path(key_path, run_id))
        if found is not None and store.has_objects(objects, found[0]):
            pages, index = found
            switched = store.materialise(objects, pages, reports_dir)
            write_private_index(key_path.with_name(INDEX_NAME), index)
            return ReportSummary(
                reports_dir,
                key_path.with_name(INDEX_NAME),
                run_id,
                len({row[0] for row in index}),
                sum(1 for row in index if row[2] == "participant"),
                len(pages),
                0,
                switched,
            )
    return build_reports(marts_db, reports_dir, key_path, reference_dir)
