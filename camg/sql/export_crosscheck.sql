-- export_crosscheck: one row per person and recall that an export's own totals file (ASA24 Totals)
-- covers: camg's Ca and Mg for that recall (sum of its kept items), the export's CALC and MAGN, and
-- camg minus export. camg is null when none of the recall's items was kept (all quarantined).
-- is_items_disagreeing: the kept items' own reported values (the export's CALC/MAGN per item)
-- do not add up to the export's total within $tolerance_mg: items were lost or the export is
-- inconsistent (issue 17), so camg's figure for that recall is not the whole recall.
-- Inputs (registered frames): intake_item, recall_total; parameter $tolerance_mg.
with

items as (
    select * from intake_item
),

totals as (
    select * from recall_total
),

camg_recall as (
    select
        study_id,
        person_id,
        recall_day,
        count(*) as n_items,
        count(*) filter (where not is_matched) as n_unmatched_items,
        sum(calcium_mg) as calcium_mg,
        sum(magnesium_mg) as magnesium_mg,
        sum(reported_calcium_mg) as calcium_mg_items_reported,
        sum(reported_magnesium_mg) as magnesium_mg_items_reported
    from items
    group by study_id, person_id, recall_day
),

final as (
    select
        totals.study_id,
        totals.person_id,
        totals.recall_day,
        totals.source_file,
        coalesce(camg_recall.n_items, 0) as n_items,
        coalesce(camg_recall.n_unmatched_items, 0) as n_unmatched_items,
        camg_recall.calcium_mg as calcium_mg_camg,
        totals.reported_calcium_mg as calcium_mg_export,
        camg_recall.calcium_mg - totals.reported_calcium_mg as calcium_mg_difference,
        camg_recall.magnesium_mg as magnesium_mg_camg,
        totals.reported_magnesium_mg as magnesium_mg_export,
        camg_recall.magnesium_mg - totals.reported_magnesium_mg as magnesium_mg_difference,
        camg_recall.calcium_mg_items_reported,
        camg_recall.magnesium_mg_items_reported,
        coalesce(
            abs(coalesce(camg_recall.calcium_mg_items_reported, 0) - totals.reported_calcium_mg)
            > $tolerance_mg
            or abs(coalesce(camg_recall.magnesium_mg_items_reported, 0) - totals.reported_magnesium_mg)
            > $tolerance_mg,
            false
        ) as is_items_disagreeing
    from totals
    left join camg_recall
        on camg_recall.study_id = totals.study_id
        and camg_recall.person_id = totals.person_id
        and camg_recall.recall_day = totals.recall_day
)

select * from final
order by study_id, person_id, recall_day, source_file
