-- run_summary: one row per run (the published one): status, versions, inputs, quarantined share and
-- duration, from run_log and run_step.
-- Inputs (mart tables): run_log, run_step.
create or replace view run_summary as

with

runs as (
    select * from run_log
),

steps as (
    select run_id, count(*) as n_steps
    from run_step
    group by run_id
),

final as (
    select
        runs.run_id,
        runs.status,
        runs.started_at,
        runs.finished_at,
        epoch(runs.finished_at - runs.started_at) as duration_seconds,
        runs.n_files,
        runs.n_files_failed,
        runs.rows_in,
        runs.rows_quarantined,
        100.0 * runs.rows_quarantined / nullif(runs.rows_in, 0) as pct_quarantined,
        coalesce(steps.n_steps, 0) as n_steps,
        runs.rules_version,
        runs.composition_version,
        runs.code_version
    from runs
    left join steps on steps.run_id = runs.run_id
)

select * from final
