-- flag_prevalence: one row per study and screening flag: persons evaluated and flagged (unweighted).
-- A flag is null where it cannot be judged (no DRI value, an AI-only group, no supplement data,
-- ages the ratio bands do not cover, or a person not assessed); those are not evaluated.
-- Inputs (mart tables): intake_person.
create or replace view flag_prevalence as

with

persons as (
    select * from intake_person
),

flags as (
    select run_id, study_id, flag, is_set
    from persons
    unpivot include nulls (
        is_set for flag in (
            is_calcium_likely_inadequate,
            is_magnesium_likely_inadequate,
            is_calcium_likely_above_ul,
            is_supplemental_magnesium_likely_above_ul,
            is_ratio_above_high_band,
            is_ratio_below_low_band,
            is_calcium_supplement_without_magnesium
        )
    )
),

final as (
    select
        run_id,
        study_id,
        flag,
        count(is_set) as n_evaluated,
        count(*) filter (where is_set) as n_flagged,
        100.0 * count(*) filter (where is_set) / nullif(count(is_set), 0) as pct_flagged
    from flags
    group by all
)

select * from final
order by study_id, flag
