-- intake_item: one row per validated diary item, with its grams and its calcium and magnesium in mg.
-- Food rows: grams from amount and unit (g as given; a household measure or ml through the food's
-- own food_portion row; oz, lb, kg through the rows food_portion holds for every food, system '*');
-- nutrient = grams x per-100 g value / 100, null when the food or that nutrient is unknown.
-- Supplement rows are never joined to the food table: nutrient = amount x mg per unit.
-- A food code the table lacks takes the values imputed for it from the table's own hierarchy
-- (imputed_composition, camg.enrich.imputation), marked is_imputed with the method and source codes.
-- Inputs (registered frames): diary_rows (row_index and the columns read here), food_composition,
-- imputed_composition, food_portion. Out: row_index and the computed columns only, unordered; camg.enrich.composition puts them
-- beside their diary rows (copying every text column through DuckDB cost GBs at 10 M items).
with

items as (
    select * from diary_rows
),

composition as (
    select
        food_system, food_code, calcium_mg_per_100g, magnesium_mg_per_100g,
        false as is_imputed,
        null::varchar as imputation_method,
        null::varchar as imputed_from_codes
    from food_composition
    union all
    select
        food_system, food_code, calcium_mg_per_100g, magnesium_mg_per_100g,
        true as is_imputed, imputation_method, imputed_from_codes
    from imputed_composition
),

portions as (
    select food_system, food_code, unit, grams as grams_per_unit
    from food_portion
    where food_system <> '*'
),

mass_units as (
    select unit, grams as grams_per_unit
    from food_portion
    where food_system = '*' and food_code = '*'
),

weighed as (
    select
        items.*,
        case
            when items.item_kind = 'supplement' then null
            when items.unit = 'g' then items.amount
            else items.amount * coalesce(portions.grams_per_unit, mass_units.grams_per_unit)
        end as grams,
        composition.calcium_mg_per_100g,
        composition.magnesium_mg_per_100g,
        composition.food_code is not null as in_composition,
        coalesce(composition.is_imputed, false) as is_imputed,
        composition.imputation_method,
        composition.imputed_from_codes
    from items
    left join composition
        on composition.food_system = items.food_system
        and composition.food_code = items.food_code
    left join portions
        on portions.food_system = items.food_system
        and portions.food_code = items.food_code
        and portions.unit = items.unit
    left join mass_units
        on mass_units.unit = items.unit
),

final as (
    select
        * exclude (calcium_mg_per_100g, magnesium_mg_per_100g, in_composition),
        case
            when item_kind = 'supplement' then amount * supplement_calcium_mg_per_unit
            else grams * calcium_mg_per_100g / 100
        end as calcium_mg,
        case
            when item_kind = 'supplement' then amount * supplement_magnesium_mg_per_unit
            else grams * magnesium_mg_per_100g / 100
        end as magnesium_mg,
        item_kind = 'supplement' or in_composition as is_matched
    from weighed
)

select
    row_index, grams, calcium_mg, magnesium_mg, is_matched,
    is_imputed, imputation_method, imputed_from_codes
from final
