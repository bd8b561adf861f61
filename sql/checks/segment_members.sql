-- One row of counts over the marketing list: pairs listed twice, and contactable rows that must
-- not be (no mobile, a suppressed mobile or ID number, a recorded refusal). All must be 0.
with members as (
    select * from marts.segment_members
),

suppressed_contacts as (
    select members.customer_id
    from members
    join ingest.suppression on suppression.value_normalized = members.mobile
    where members.contactable
)

select
    count(*) as rows,
    count(*) - count(distinct (customer_id, dealer_code)) as duplicate_keys,
    count(*) filter (where contactable and mobile is null) as contactable_without_mobile,
    count(*) filter (where contactable and consent = 'no') as contactable_after_refusal,
    (select count(*) from suppressed_contacts) as contactable_but_suppressed
from members
