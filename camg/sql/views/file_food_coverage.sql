-- file_food_coverage: one row per diary input file: how many of its kept items (and grams) had
-- composition values from their own code, how many were imputed from the composition table's
-- hierarchy (camg.enrich.imputation) and how many stayed unmatched. Beside file_manifest's row counts.
-- Inputs (mart tables): intake_item, file_manifest.
create or replace view file_food_coverage as

with

items as (
    select run_id, study_id, source_file, item_kind, is_matched, is_imputed, grams
    from intake_item
    where item_kind = 'food'
),

final as (
    select
        items.run_id,
        items.study_id,
        items.source_file,
        count(*) as n_food_items,
        count(*) filter (where is_matched and not is_imputed) as n_matched_items,
        count(*) filter (where is_imputed) as n_imputed_items,
        count(*) filter (where not is_matched) as n_unmatched_items,
        coalesce(sum(grams), 0) as grams,
        coalesce(sum(grams) filter (where is_imputed), 0) as imputed_grams,
        coalesce(sum(grams) filter (where not is_matched), 0) as unmatched_grams
    from items
    group by all
)

select * from final
order by study_id, source_file
