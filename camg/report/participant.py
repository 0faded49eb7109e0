"""Participant view: one intake_person row + their top foods + candidate foods -> template data.

Everything a participant template shows is computed here as text (no arithmetic in templates), and
from that one person's rows only.
"""

from camg.report import fmt
from camg.report.charts import Bands, Marker, intake_bar, ratio_scale
from camg.report.flags import RISK_WORDS, STATUS_WORDS, raised_flags, risk_label
from camg.report.names import FoodKey, food_label
from camg.report.suggest import Candidate

NUTRIENTS = (("calcium", "Calcium", "Ca"), ("magnesium", "Magnesium", "Mg"))
NO_SUPPLEMENT_DATA = "no supplement data supplied for this study"
ADEQUACY_WORDS = {
    "likely adequate": "likely enough: we are at least 85 % confident your usual intake meets "
    "your need",
    "uncertain": "uncertain: a few days cannot show whether your usual intake meets your need",
    "likely inadequate": "likely too low: we are at least 85 % confident your usual intake is "
    "below your need",
    "cannot be determined": "cannot be judged from a few days against an Adequate Intake",
}
LEVEL_NAMES = {
    "ear": "Estimated Average Requirement (EAR)",
    "rda": "Recommended Dietary Allowance (RDA)",
    "ai": "Adequate Intake (AI)",
    "ul": "Tolerable Upper Intake Level (UL)",
}


def _references(person: dict, nutrient: str) -> list[tuple[str, float]]:
    """The person's DRI values for a nutrient that exist: [(kind, mg)]."""
    kinds = ["ear", "rda", "ai", "ul"]
    return [
        (k, person[f"{nutrient}_{k}_mg"])
        for k in kinds
        if person.get(f"{nutrient}_{k}_mg") is not None
    ]


def _standing(person: dict, nutrient: str) -> str:
    """Where the person's usual intake likely stands (the DRI assessment), in words."""
    category = person.get(f"{nutrient}_adequacy")
    if category is None:
        return "not assessed"
    confidence = person.get(f"{nutrient}_adequacy_confidence")
    basis = person.get(f"{nutrient}_adequacy_reference") or "reference"
    odds = "" if confidence is None else f" (confidence of adequacy against your {basis}: "
    odds += "" if confidence is None else f"{fmt.percent(100 * confidence, 0)})"
    return ADEQUACY_WORDS.get(category, category) + odds


def nutrient_view(person: dict, nutrient: str, name: str) -> dict:
    """One mineral: intake from food and supplements, DRI values, where it stands, and its chart."""
    food, supplement, total = (
        person[f"{nutrient}_{part}mg"] for part in ("food_", "supplement_", "")
    )
    known_supplements = person.get("has_supplement_data", True)
    refs = dict(_references(person, nutrient))
    # The Mg UL covers supplements only, so it is not a line on the total-intake bar.
    chart_refs = {k: v for k, v in refs.items() if not (nutrient == "magnesium" and k == "ul")}
    markers = [Marker(k, f"{k.upper()} {v:,.0f}", v) for k, v in chart_refs.items()]
    ref_text = (
        ", ".join(f"{k.upper()} {v:,.0f} mg" for k, v in chart_refs.items())
        or "no reference values"
    )
    parts = f"{fmt.mg(food)} from food, " + (
        f"{fmt.mg(supplement)} from supplements" if known_supplements else NO_SUPPLEMENT_DATA
    )
    desc = f"Your {name.lower()}: {fmt.mg(total)} a day ({parts}). {ref_text}."
    ul_note = "applies to magnesium from supplements only" if nutrient == "magnesium" else ""
    chart = ""
    if total is not None:
        chart = intake_bar(
            f"{nutrient}-chart", f"Your {name.lower()} per day", desc, food, supplement or 0.0,
            markers,
        )  # fmt: skip
    return {
        "name": name,
        "total": fmt.mg(total) + ("" if known_supplements else " from food"),
        "food": fmt.mg(food),
        "supplement": fmt.mg(supplement) if known_supplements else NO_SUPPLEMENT_DATA,
        "food_share": fmt.percent(100 * food / total if total else None, 0),
        "supplement_share": fmt.percent(
            100 * supplement / total if total and supplement is not None else None, 0
        ),
        "has_supplement_data": known_supplements,
        "standing": _standing(person, nutrient),
        "references": [
            {"name": LEVEL_NAMES[k], "value": fmt.mg(v), "note": ul_note if k == "ul" else ""}
            for k, v in refs.items()
        ],
        "chart": chart,
    }


def top_foods(
    rows: list[dict], person: dict, nutrient: str, names: dict[FoodKey, str]
) -> list[dict]:
    """The person's foods that gave most of a mineral, per day and as a share of their intake."""
    ranked = sorted(
        (r for r in rows if r[f"{nutrient}_rank"] <= 5), key=lambda r: r[f"{nutrient}_rank"]
    )
    total_over_days = (person[f"{nutrient}_mg"] or 0.0) * person["n_days"]
    return [
        {
            "name": food_label(
                names, r["food_system"], r["food_code"], r["food_description"], r["item_kind"]
            ),
            "per_day": fmt.mg(r[f"{nutrient}_mg"] / person["n_days"]),
            "share": fmt.percent(
                100 * r[f"{nutrient}_mg"] / total_over_days if total_over_days else None, 0
            ),
        }
        for r in ranked
        if r[f"{nutrient}_mg"]
    ]


def suggestion_rows(person: dict, chosen: list[Candidate]) -> list[dict]:
    """The foods chosen for this person with what one portion would do to their Mg and ratio."""
    rows = []
    for food in chosen:
        new_ca = (person["calcium_mg"] or 0.0) + food.calcium_mg
        new_mg = (person["magnesium_mg"] or 0.0) + food.magnesium_mg
        rows.append(
            {
                "name": food.name,
                "group": food.group,
                "portion": f"{food.portion_grams:,.0f} g",
                "magnesium": fmt.mg(food.magnesium_mg),
                "calcium": fmt.mg(food.calcium_mg),
                "food_ratio": fmt.ratio(food.ratio),
                "new_magnesium": fmt.mg(new_mg),
                "new_ratio": fmt.ratio(new_ca / new_mg if new_mg else None),
            }
        )
    return rows


def ratio_view(person: dict, bands: Bands) -> dict:
    """The person's Ca:Mg ratio, its band in words, and the ratio chart."""
    ratio = person["calcium_to_magnesium_mass_ratio"]
    if ratio is None:
        words = "could not be worked out (no magnesium recorded)"
    elif ratio < bands.low:
        words = f"below {bands.low:.1f}: low calcium for your magnesium"
    elif ratio <= bands.optimal_high:
        words = (
            f"between {bands.low:.1f} and {bands.optimal_high:.1f}, the range proposed as optimal"
        )
    elif ratio <= bands.high:
        words = f"between {bands.optimal_high:.1f} and {bands.high:.1f}, above the optimal range"
    else:
        words = f"above {bands.high:.1f}: much calcium for your magnesium"
    edges = f"{bands.low}, {bands.optimal_high} and {bands.high}"
    desc = f"Your Ca:Mg ratio is {fmt.ratio(ratio)}, {words}. Band edges at {edges}."
    return {
        "value": fmt.ratio(ratio),
        "molar": fmt.ratio(person["calcium_to_magnesium_molar_ratio"]),
        "words": words,
        "is_low": ratio is not None and ratio < bands.low,
        "note": person.get("ratio_flag_note") or "",
        "chart": ratio_scale("ratio-chart", "Your calcium to magnesium ratio", desc, ratio, bands),
    }


def participant_view(
    person: dict,
    food_rows: list[dict],
    suggestions: tuple[list[Candidate], str | None],
    bands: Bands,
    names: dict[FoodKey, str],
) -> dict:
    """Everything one participant's report shows."""
    days, used = person["n_days"], person.get("n_days_used", person["n_days"])
    risk = risk_label(person)
    return {
        "study_id": person["study_id"],
        "person_id": person["person_id"],
        "sex": person["sex"],
        "age": fmt.age_years(person["age_months"])
        if person["age_months"] is not None
        else "under 1 year (month not known)",
        "life_stage": person["life_stage"],
        "dri_group": person["dri_age_group"] or "none",
        "days": f"{days} recorded day{'s' if days != 1 else ''}",
        "days_used": f"{used} of them complete and used",
        "is_complete": person["is_complete"],
        "status_text": STATUS_WORDS.get(person.get("assessment_status") or "", ""),
        "has_supplement_data": person.get("has_supplement_data", True),
        "nutrients": [nutrient_view(person, key, name) for key, name, _ in NUTRIENTS],
        "ratio": ratio_view(person, bands),
        "flags": [
            {"text": sentence, "rule_id": rule} for _, sentence, rule in raised_flags(person, bands)
        ],
        "risk_level": risk,
        "risk_words": RISK_WORDS.get(risk, ""),
        "top_calcium": top_foods(food_rows, person, "calcium", names),
        "top_magnesium": top_foods(food_rows, person, "magnesium", names),
        "suggestions": suggestion_rows(person, suggestions[0]),
        "no_suggestions_reason": suggestions[1] or "",
        "rules_version": person["rules_version"],
    }
