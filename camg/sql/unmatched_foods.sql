-- unmatched_foods: one row per study and food (code or, without one, description) that the
-- composition table does not hold. Imputed foods (values from the table's hierarchy, is_imputed)
-- are kept with their method and source codes; the others stay in intake_item with null nutrients
-- and their person-days are marked incomplete.
with

unmatched as (
    select * from intake_item
    where not is_matched or is_imputed
),

final as (
    select
        study_id,
        food_system,
        food_code,
        min(food_description) as food_description,
        count(*) as n_items,
        count(distinct person_id) as n_persons,
        sum(grams) as grams,
        bool_or(is_imputed) as is_imputed,
        min(imputation_method) as imputation_method,
        min(imputed_from_codes) as imputed_from_codes
    from unmatched
    group by study_id, food_system, food_code
)

select * from final
order by study_id, n_items desc, food_code
