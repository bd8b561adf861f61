-- One row per distinct identity signature (every field the linkage model compares) of the records
-- of $dealers (a signature's records are of one dealer: the dealer is part of it), with the keys
-- the model and the rules compare:
--   name_key    a person's surname and given name, sorted, Chinese characters by their toneless
--               pinyin, a Chinese part as one token (so homophones, traditional forms, both orders
--               and Latin script meet: 韩博丽 = 韓博麗 = Boli Han);
--               a company's name in order, its legal form taken out (有限公司 = 有限责任公司 =
--               Co., Ltd.), never sorted
--   family_key, given_key
--               the two parts of a person's name: as the file split them (FirstName/LastName), or
--               for a Chinese name in one field, its (compound) surname and the rest
--   name_script han or latin: Jaro-Winkler on pinyin syllables says nothing, so only Latin names
--               are compared by it
--   vins        every VIN the signature's records name, sorted
with records as (
    select * from identity.records where list_contains($dealers, dealer_code)
),

pinyin_chars as (
    select * from identity.pinyin_chars
),

grouped as (
    select
        signature_key,
        any_value(dealer_code) as dealer_code,
        any_value(customer_no) as customer_no,
        any_value(name_norm) as name_norm,
        any_value(given_name) as given_name,
        any_value(family_name) as family_name,
        any_value(mobile) as mobile,
        any_value(id_number) as id_number,
        bool_or(id_valid) as id_valid,
        any_value(id_type) as id_type,
        any_value(address_norm) as address_norm,
        max(coalesce(id_birth_date, birth_date)) as birth_date,
        max(email) as email,
        max(postcode) as postcode,
        bool_or(customer_type = 'company') or bool_or(id_type = 'company') as known_company,
        list_sort(list_distinct(list(vin) filter (where vin is not null))) as vins,
        count(*) as n_records,
        min(event_date) as first_seen,
        max(event_date) as last_seen
    from records
    group by signature_key
),

signatures as (
    -- a service export may carry no customer type: a company is also known by its name
    select
        * exclude (given_name, family_name, known_company),
        normalized_name(given_name) as given_name,
        normalized_name(family_name) as family_name,
        known_company or coalesce(regexp_matches(name_norm, '(公司|集团|co\.,? ?ltd|limited|corporation|inc\.)'), false)
            as is_company
    from grouped
),

company_names as (
    -- legal forms and brackets out, in whatever script the name is written
    select distinct
        name_norm,
        nullif(trim(regexp_replace(regexp_replace(name_norm,
            '(股份有限公司|有限责任公司|有限公司|company limited|co\.?,? ?ltd\.?|corporation|corp\.?|inc\.?|limited|ltd\.?|llc)',
            ' ', 'g'), '[()（）\[\]【】,.，、\s]+', ' ', 'g')), '') as company_norm
    from signatures
    where is_company and name_norm is not null
),

texts as (
    select name_norm as text from signatures where name_norm is not null
    union
    select given_name from signatures where given_name is not null
    union
    select family_name from signatures where family_name is not null
    union
    select company_norm from company_names where company_norm is not null
),

text_chars as (
    select text, unnest(range(length(text))) + 1 as position, unnest(string_split(text, '')) as ch
    from texts
),

spelled as (
    -- each Chinese character becomes its syllable between spaces; Latin letters stay as written
    select
        text_chars.text,
        string_agg(coalesce(' ' || pinyin_chars.syllable || ' ', text_chars.ch), '' order by text_chars.position)
            as romanized,
        bool_or(pinyin_chars.syllable is not null) as has_han
    from text_chars
    left join pinyin_chars using (ch)
    group by text_chars.text
),

tokens as (
    -- a Chinese part's syllables are one token (博丽 -> boli, as a Latin-script clerk writes it)
    select
        text,
        has_han,
        list_filter(string_split(regexp_replace(romanized, '[^a-z0-9]+', ' ', 'g'), ' '), lambda t: t <> '')
            as syllables
    from spelled
),

part_keys as (
    -- a name part as the key compares it: Chinese syllables joined, Latin tokens spaced
    select
        text,
        nullif(case when has_han then array_to_string(syllables, '') else array_to_string(syllables, ' ') end, '')
            as part_key
    from tokens
),

parts as (
    select
        signatures.*,
        company_tokens.syllables as company_syllables,
        name_tokens.syllables as name_syllables,
        name_tokens.has_han as name_has_han,
        case
            when signatures.is_company then null
            when signatures.family_name is not null or signatures.given_name is not null
                then family_parts.part_key
            when name_tokens.has_han and len(name_tokens.syllables) >= 2
                then array_to_string(name_tokens.syllables[1:surname_length(signatures.name_norm)], '')
        end as family_key,
        case
            when signatures.is_company then null
            when signatures.family_name is not null or signatures.given_name is not null
                then given_parts.part_key
            when name_tokens.has_han and len(name_tokens.syllables) >= 2
                then array_to_string(name_tokens.syllables[surname_length(signatures.name_norm) + 1:], '')
        end as given_key
    from signatures
    left join company_names using (name_norm)
    left join tokens as name_tokens on name_tokens.text = signatures.name_norm
    left join tokens as company_tokens on company_tokens.text = company_names.company_norm
    left join part_keys as family_parts on family_parts.text = signatures.family_name
    left join part_keys as given_parts on given_parts.text = signatures.given_name
),

keyed as (
    select
        * exclude (company_syllables, name_syllables, name_has_han),
        case
            when is_company then nullif(array_to_string(company_syllables, ' '), '')
            when family_key is not null or given_key is not null then array_to_string(list_sort(list_filter(
                string_split(concat_ws(' ', family_key, given_key), ' '), lambda t: t <> '')), ' ')
            else nullif(array_to_string(list_sort(name_syllables), ' '), '')
        end as name_key,
        case when name_has_han then 'han' when name_syllables is not null then 'latin' end as name_script
    from parts
)

select *, strftime(birth_date, '%Y%m%d') as birth_ymd
from keyed
