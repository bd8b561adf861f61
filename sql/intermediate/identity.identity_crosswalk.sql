-- One row per accepted input row of $dealers: the customer it belongs to and what linked it (its
-- signature's, identity.signature_links). Contact-log rows follow, with the key that named their
-- customer (identity.contacts).
with records as (
    select dealer_code, source, file_name, source_row, record_id, signature_key
    from identity.records
    where list_contains($dealers, dealer_code)
),

signature_links as (
    select * from identity.signature_links where list_contains($dealers, dealer_code)
),

final as (
    select
        records.dealer_code,
        records.source,
        records.file_name,
        records.source_row,
        records.record_id,
        signature_links.customer_id,
        signature_links.match_rule,
        signature_links.match_probability
    from records
    join signature_links using (signature_key)
)

select * from final
union all
select dealer_code, 'contacts', file_name, source_row, contact_id, customer_id, match_rule, null
from identity.contacts
where list_contains($dealers, dealer_code)
