-- sliced_items: one diary file's intake items, validated in row slices, back in item order
-- (study, person, day, file, line: the order `camg.enrich.in_item_order` gives one slice), so that
-- camg.slices reads each person-day whole. DuckDB sorts out of core under its memory limit.
-- Inputs: $paths, the slices' items Parquet files.
with

items as (
    select * from read_parquet($paths)
),

final as (
    select * from items
)

select * from final order by study_id, person_id, recall_day, source_file, source_line
