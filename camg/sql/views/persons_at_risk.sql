-- persons_at_risk: one row per study, sex, DRI age group and life stage: persons by risk level.
-- Unweighted counts; risk_level comes from the DRI assessment of each person (docs/risk.md), null
-- for persons not assessed (assessment_status: insufficient data, age in months unknown).
-- Inputs (mart tables): intake_person.
create or replace view persons_at_risk as

with

persons as (
    select run_id, study_id, sex, dri_age_group, life_stage, assessment_status, risk_level,
           is_calcium_likely_inadequate, is_magnesium_likely_inadequate
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
        count(risk_level) as n_assessed,
        count(*) filter (where risk_level = 'high') as n_high_risk,
        count(*) filter (where risk_level = 'moderate') as n_moderate_risk,
        count(*) filter (where risk_level = 'low') as n_low_risk,
        count(*) filter (where risk_level = 'undetermined') as n_undetermined_risk,
        count(*) filter (where assessment_status = 'insufficient data') as n_insufficient_data,
        count(*) filter (where assessment_status = 'age in months unknown') as n_age_months_unknown,
        count(*) filter (where is_calcium_likely_inadequate) as n_calcium_likely_inadequate,
        count(*) filter (where is_magnesium_likely_inadequate) as n_magnesium_likely_inadequate
    from persons
    group by all
),

final as (
    select
        *,
        100.0 * n_high_risk / nullif(n_assessed, 0) as pct_high_risk,
        100.0 * (n_high_risk + n_moderate_risk) / nullif(n_assessed, 0) as pct_at_risk
    from counted
)

select * from final
order by study_id, sex, dri_age_group, life_stage
