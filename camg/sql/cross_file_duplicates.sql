-- cross_file_duplicates: one row per kept item that repeats an item of an earlier file of its study
-- (same person, recall day and the export's own item key). Each file is already free of repeats
-- within itself, so the first file (by source_file) keeps the item and later files quarantine it
-- as row.duplicate, as if all files were checked together in (file, line) order.
-- Inputs: $paths, the items.parquet parts of files whose keyed recall days overlap.
with

keyed as (
    select source_file, source_line, study_id, person_id, recall_day, item_key
    from read_parquet($paths)
    where item_key is not null
),

first_file as (
    select study_id, person_id, recall_day, item_key, min(source_file) as first_source_file
    from keyed
    group by study_id, person_id, recall_day, item_key
    having count(*) > 1
),

final as (
    select keyed.source_file, keyed.source_line
    from keyed
    inner join first_file
        on first_file.study_id = keyed.study_id
        and first_file.person_id = keyed.person_id
        and first_file.recall_day = keyed.recall_day
        and first_file.item_key = keyed.item_key
    where keyed.source_file > first_file.first_source_file
)

select * from final order by source_file, source_line
