-- One row per line of suppression.csv: a mobile or an ID number that must never be contacted,
-- normalized the way the clean tables are (a mobile to 11 digits, an ID number upper-cased).
-- Read without a header: a first line holding a number is data (a list written without its
-- `value` header must not make its first mobile contactable); lines without a digit (the header)
-- are no mobile or ID number.
select
    trim(value) as value,
    coalesce(normalize_mobile(value), normalize_id(value)) as value_normalized,
    case when normalize_mobile(value) is not null then 'mobile' else 'id_number' end as kind
from read_csv($path, columns = {'value': 'varchar'}, header = false, delim = '\t', quote = '"',
              encoding = 'utf-8')
where regexp_matches(value, '[0-9]')
