-- One row per usable contact-log record of $dealers with the customer it was about. A contact
-- names whom it reached by the sale it follows up (sale_id), the dealer's customer number or the
-- mobile dialled; it is resolved in that order, among the records of the contact's own dealer. Where a customer
-- number or mobile belongs to several customers there (a family's shared phone), the customer
-- seen there last is taken (then the smallest id, the same on every run). match_rule says which
-- key resolved it; 'unmatched' contacts keep a null customer_id.
with contacts as (
    select * from clean.contacts where list_contains($dealers, dealer_code)
),

records as (
    select records.dealer_code, records.source, records.record_id, records.customer_no, records.mobile,
           records.event_date, ids.customer_id
    from identity.records as records
    join identity.signature_ids as ids using (signature_key)
    where list_contains($dealers, records.dealer_code)
),

by_sale as (
    select dealer_code, record_id as sale_id, min(customer_id) as customer_id
    from records
    where source = 'sales'
    group by dealer_code, record_id
),

by_customer_no as (
    select dealer_code, customer_no, arg_max(customer_id, (last_seen, customer_id)) as customer_id
    from (select dealer_code, customer_no, customer_id, max(event_date) as last_seen
          from records where customer_no is not null group by all)
    group by dealer_code, customer_no
),

by_mobile as (
    select dealer_code, mobile, arg_max(customer_id, (last_seen, customer_id)) as customer_id
    from (select dealer_code, mobile, customer_id, max(event_date) as last_seen
          from records where mobile is not null group by all)
    group by dealer_code, mobile
)

select
    contacts.dealer_code,
    contacts.file_name,
    contacts.source_row,
    contacts.contact_id,
    contacts.contact_date,
    contacts.outcome,
    contacts.purpose,
    contacts.channel,
    contacts.staff,
    contacts.sale_id,
    contacts.mobile,
    coalesce(by_sale.customer_id, by_customer_no.customer_id, by_mobile.customer_id) as customer_id,
    case
        when by_sale.customer_id is not null then 'contact_sale_id'
        when by_customer_no.customer_id is not null then 'contact_customer_no'
        when by_mobile.customer_id is not null then 'contact_mobile'
        else 'unmatched'
    end as match_rule
from contacts
left join by_sale on by_sale.dealer_code = contacts.dealer_code and by_sale.sale_id = contacts.sale_id
left join by_customer_no on by_customer_no.dealer_code = contacts.dealer_code
    and by_customer_no.customer_no = contacts.customer_no
left join by_mobile on by_mobile.dealer_code = contacts.dealer_code and by_mobile.mobile = contacts.mobile
