-- One row per vehicle and owner: who owned each VIN from when to when. An owner's period runs from
-- their first record with the VIN to the next owner's first record (open for the latest owner).
with records as (
    select records.vin, records.event_date, signature_ids.customer_id
    from identity.records as records
    join identity.signature_ids as signature_ids using (signature_key)
    where records.vin is not null
),

spans as (
    select vin, customer_id, min(event_date) as first_seen, max(event_date) as last_seen, count(*) as n_records
    from records
    group by vin, customer_id
),

final as (
    select
        vin,
        cast(row_number() over (partition by vin order by first_seen, customer_id) as integer) as owner_seq,
        customer_id,
        first_seen as owned_from,
        lead(first_seen) over (partition by vin order by first_seen, customer_id) as owned_to,
        last_seen,
        n_records
    from spans
)

select * from final order by vin, owner_seq
