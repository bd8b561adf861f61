-- One row per distinct identity signature, with its evidence and a name key that matches
-- spellings of one name: Chinese characters by pinyin (so homophones and traditional forms
-- meet), Latin names by their lower-cased tokens, tokens sorted ("Wei Zhang" = 张伟).
with records as (
    select * from identity.records
),

pinyin_chars as (
    select * from identity.pinyin_chars
),

signatures as (
    select
        signature_key,
        any_value(dealer_code) as dealer_code,
        any_value(customer_no) as customer_no,
        any_value(name_norm) as name_norm,
        any_value(mobile) as mobile,
        any_value(id_number) as id_number,
        bool_or(id_valid) as id_valid,
        any_value(id_type) as id_type,
        any_value(address_norm) as address_norm,
        max(coalesce(id_birth_date, birth_date)) as birth_date,
        max(email) as email,
        max(postcode) as postcode,
        bool_or(customer_type = 'company') as is_company,
        count(*) as n_records,
        min(event_date) as first_seen,
        max(event_date) as last_seen
    from records
    group by signature_key
),

names as (
    select distinct name_norm from signatures where name_norm is not null
),

name_chars as (
    select name_norm, unnest(range(length(name_norm))) + 1 as position, unnest(string_split(name_norm, '')) as ch
    from names
),

spelled as (
    -- each Chinese character becomes its syllable between spaces; Latin letters stay as written
    select
        name_chars.name_norm,
        string_agg(coalesce(' ' || pinyin_chars.syllable || ' ', name_chars.ch), '' order by name_chars.position)
            as romanized
    from name_chars
    left join pinyin_chars using (ch)
    group by name_chars.name_norm
),

name_keys as (
    select
        name_norm,
        nullif(array_to_string(list_sort(list_filter(
            string_split(regexp_replace(romanized, '[^a-z]+', ' ', 'g'), ' '), lambda t: t <> '')), ' '), '')
            as name_key
    from spelled
)

select signatures.*, name_keys.name_key
from signatures
left join name_keys using (name_norm)
