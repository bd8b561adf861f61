-- One row per line of the loaded contact-log files: typed values, and the reason it cannot be used
-- (null if it can). A contact log has no record id of its own: contact_id is a hash of what the
-- row says (when, whom, outcome, purpose, sale, channel, staff), so the same call in two
-- overlapping exports is one contact; int_contacts_duplicates settles the repeats.
with contacts_rows as materialized (
    select * from stg_contacts_rows($paths)
),

files as (
    select * from ingest.loaded_files where source = 'contacts'
),

codes as (
    select * from ingest.code_maps
),

date_evidence as (
    -- a first part above 12 can only be a day; a second part above 12 only a day of a m/d/y date
    select
        file_id,
        case
            when max(date_first_part(contact_date)) > 12 then true
            when max(date_second_part(contact_date)) > 12 then false
        end as day_first
    from contacts_rows
    where contact_date like '%/%' or contact_date like '%-%' or contact_date like '%.%'
    group by file_id
),

file_date_order as (
    select
        files.file_id,
        coalesce(
            date_evidence.day_first,
            bool_or(date_evidence.day_first) over (partition by files.dealer_code),
            false
        ) as day_first
    from files
    left join date_evidence using (file_id)
),

dates as (
    -- keyed by file, because whether 05/01 is the 5th of January depends on the file
    select spellings.file_id, spellings.text, parse_dms_date(spellings.text, file_date_order.day_first) as parsed
    from (select distinct file_id, contact_date as text from contacts_rows where contact_date is not null) as spellings
    join file_date_order using (file_id)
),

typed as (
    select
        contacts_rows.file_dealer_code as dealer_code,
        contacts_rows.file_id,
        contacts_rows.source_row,
        dates.parsed as contact_date,
        code_of(codes.outcome, contacts_rows.outcome) as outcome,
        code_of(codes.purpose, contacts_rows.purpose) as purpose,
        code_of(codes.channel, contacts_rows.channel) as channel,
        contacts_rows.staff,
        normalize_mobile(contacts_rows.mobile) as mobile,
        contacts_rows.customer_no,
        contacts_rows.sale_id,
        contacts_rows.customer_name,
        -- what the checks below need and then drop
        contacts_rows.purpose is null as purpose_missing,
        contacts_rows.raw,
        contacts_rows.n_fields,
        contacts_rows.n_header_fields,
        contacts_rows.file_error,
        contacts_rows.dealer_code as row_dealer_code,
        contacts_rows.contact_date as contact_date_text,
        contacts_rows.outcome as outcome_text,
        contacts_rows.mobile as mobile_text
    from contacts_rows
    cross join codes
    left join dates on dates.file_id = contacts_rows.file_id and dates.text = contacts_rows.contact_date
),

checked as (
    select
        *,
        case
            when file_error is not null then 'file_failed'
            when ltrim(raw) = '' then 'blank_line'
            when n_fields <> n_header_fields then 'wrong_field_count'
            when row_dealer_code is not null and upper(row_dealer_code) <> upper(dealer_code) then 'dealer_mismatch'
            when contact_date_text is null or outcome_text is null or (mobile_text is null and customer_no is null)
                then 'missing_required'
            when contact_date is null or year(contact_date) not between 1980 and 2100 then 'bad_date'
            -- after the day of the run (and its tolerance): no DMS records what has not happened
            when contact_date > $future_limit::date then 'future_date'
        end as reject_reason
    from typed
),

final as (
    select
        dealer_code,
        file_id,
        source_row,
        'CT' || left(md5(concat_ws('|', dealer_code, contact_date, regexp_extract(trim(contact_date_text), '[ T](.+)$', 1),
                                  mobile, customer_no, outcome, purpose, sale_id, channel, staff)), 16) as contact_id,
        contact_date,
        outcome,
        -- a contact without a purpose may be about anything; one whose purpose is spelt in a way
        -- the mapping does not know is 'other'
        case when purpose_missing then null else purpose end as purpose,
        channel,
        staff,
        mobile,
        customer_no,
        sale_id,
        customer_name,
        reject_reason,
        case reject_reason
            when 'file_failed' then file_error
            when 'wrong_field_count' then format('{} fields, header has {}', n_fields, n_header_fields)
            when 'dealer_mismatch' then format('dealer_code {} in a file of {}', row_dealer_code, dealer_code)
            when 'missing_required' then concat_ws(', ',
                case when contact_date_text is null then 'contact_date' end,
                case when outcome_text is null then 'outcome' end,
                case when mobile_text is null and customer_no is null then 'mobile or customer_no' end)
            when 'bad_date' then contact_date_text
            when 'future_date' then format('{} is after {}', contact_date_text, $future_limit::date)
        end as reject_detail,
        raw
    from checked
)

select * from final
