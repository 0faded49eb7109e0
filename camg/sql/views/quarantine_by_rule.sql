-- quarantine_by_rule: one row per study, input file and validation rule: rejected rows and the
-- first rejected line (open the file there, or read quarantine.raw, to see what was wrong).
-- Inputs (mart tables): quarantine.
create or replace view quarantine_by_rule as

with

rejected as (
    select run_id, study_id, source_file, rule_id, source_line
    from quarantine
),

final as (
    select
        run_id,
        study_id,
        source_file,
        rule_id,
        count(*) as n_rows,
        min(source_line) as first_line
    from rejected
    group by all
)

select * from final
order by study_id, source_file, n_rows desc, rule_id
