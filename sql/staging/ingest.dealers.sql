-- One row per dealer of dealers.csv: name, region, province, city, brand, opening date. Columns the
-- file leaves out are null (a file of codes and cities is enough for the city-based signals).
with dealers_file as (
    select * from read_csv($path, all_varchar = true, header = true, encoding = 'utf-8')
),

contract_columns as (
    select null::varchar as dealer_code, null::varchar as dealer_name, null::varchar as region,
           null::varchar as province, null::varchar as city, null::varchar as brand, null::varchar as opened_on
    where false
),

dealers as (
    select * from contract_columns
    union all by name
    select * from dealers_file
)

select dealer_code, dealer_name, region, province, city, brand, try_cast(opened_on as date) as opened_on
from dealers
