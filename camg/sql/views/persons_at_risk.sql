-- persons_at_risk: one row per study, sex, DRI age group and life stage: persons by risk level.
-- Unweighted counts of persons; risk_level is a screening summary of observed intake (intake_person).
-- Inputs (mart tables): intake_person.
create or replace view persons_at_risk as

with

persons as (
    select run_id, study_id, sex, dri_age_group, life_stage, risk_level
    from intake_person
),

counted as (
    select
        run_id,
        study_id,
        sex,
        dri_age_group,
        life_stage,
        count(*) as n_persons,
        count(*) filter (where risk_level = 'high') as n_high_risk,
        count(*) filter (where risk_level = 'moderate') as n_moderate_risk,
        count(*) filter (where risk_level = 'unknown') as n_unknown_risk
    from persons
    group by all
),

final as (
    select
        *,
        100.0 * n_high_risk / n_persons as pct_high_risk,
        100.0 * (n_high_risk + n_moderate_risk) / n_persons as pct_at_risk
    from counted
)

select * from final
order by study_id, sex, dri_age_group, life_stage
