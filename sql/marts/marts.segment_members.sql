-- One row per customer and dealer they bought or serviced at, on or before as-of: the list a
-- dealer's marketing pulls, with contact fields and whether the dealer may contact them.
-- Not contactable, first reason wins: a mobile or ID number of theirs is on the suppression list
-- (suppressed); no valid mobile (no_mobile); the customer, or whoever answered their mobile,
-- refused further contact in a call of this dealer's contact log on or before as-of
-- (contact_refused); the latest consent answer recorded at this dealer is no (consent_refused);
-- none recorded and unknown consent is not taken as consent (consent_unknown). Consent is per
-- dealer: one dealer's yes does not let another call.
with pairs as (
    select distinct customer_id, dealer_code from analytics.visits
    union
    select distinct customer_id, dealer_code from analytics.purchases
),

consent as (
    select
        ids.customer_id,
        records.dealer_code,
        -- a yes and a no on one day: the no stands (and the choice is the same on every run)
        arg_max(records.marketing_consent, (records.event_date, records.marketing_consent = 'no')) as consent
    from identity.records as records
    join identity.signature_ids as ids using (signature_key)
    where records.marketing_consent in ('yes', 'no')
      and records.event_date <= (select as_of from analytics.as_of)
    group by ids.customer_id, records.dealer_code
),

-- any mobile or ID number the customer ever used, not only the current one
customer_contacts as (
    select ids.customer_id, signatures.mobile, upper(signatures.id_number) as id_number
    from identity.signatures as signatures
    join identity.signature_ids as ids using (signature_key)
),

suppressed as (
    select customer_contacts.customer_id
    from customer_contacts
    join ingest.suppression on suppression.value_normalized = customer_contacts.mobile
    union
    select customer_contacts.customer_id
    from customer_contacts
    join ingest.suppression on suppression.value_normalized = customer_contacts.id_number
),

refusals as (
    select dealer_code, customer_id, mobile
    from identity.contacts
    where outcome = 'refused' and contact_date <= (select as_of from analytics.as_of)
),

refused as (
    select customer_id, dealer_code from refusals where customer_id is not null
    union
    select customers.customer_id, refusals.dealer_code
    from refusals
    join identity.customers as customers on customers.mobile = refusals.mobile
),

-- the customer's vehicle: the one they came with last and still own (identity.vehicles), its
-- series and latest plate; one-number keys keep the choice the same on every run
customer_vehicles as (
    select customer_id,
           arg_max(vin, day_then(owned_from, hash(vin) % 4294967296)) as vin
    from identity.vehicles
    where owned_from <= (select as_of from analytics.as_of)
      and (owned_to is null or owned_to > (select as_of from analytics.as_of))
    group by customer_id
),

vehicle_series as (
    select vin, arg_max(series, day_then(sale_date, hash(series) % 4294967296)) as series
    from intermediate.sales_checked
    where reject_reason is null and series is not null
    group by vin
),

vehicle_plates as (
    select vin, arg_max(plate, day_then(open_date, hash(plate) % 4294967296)) as plate
    from intermediate.service_checked
    where reject_reason is null and plate is not null
    group by vin
),

members as (
    select
        pairs.customer_id,
        pairs.dealer_code,
        rfm.rfm_segment,
        rfm.rfm_segment_dealer,
        coalesce(dealer_abc.abc_tier, 'C') as abc_tier,
        lifecycle.lifecycle_stage,
        clv.clv_12m,
        churn.churn_risk,
        customers.customer_name,
        customers.mobile,
        customer_vehicles.vin,
        vehicle_series.series as vehicle,
        vehicle_plates.plate,
        coalesce(consent.consent, 'unknown') as consent,
        case
            when suppressed.customer_id is not null then 'suppressed'
            when customers.mobile is null then 'no_mobile'
            when refused.customer_id is not null then 'contact_refused'
            when consent.consent = 'no' then 'consent_refused'
            when consent.consent is null and not $unknown_consent_contactable then 'consent_unknown'
        end as why_not_contactable
    from pairs
    join identity.customers as customers using (customer_id)
    join analytics.rfm as rfm using (customer_id)
    join analytics.lifecycle as lifecycle using (customer_id)
    join analytics.clv as clv using (customer_id)
    join analytics.churn_risk as churn using (customer_id)
    left join analytics.dealer_abc_tiers as dealer_abc using (customer_id, dealer_code)
    left join consent using (customer_id, dealer_code)
    left join suppressed using (customer_id)
    left join refused using (customer_id, dealer_code)
    left join customer_vehicles using (customer_id)
    left join vehicle_series using (vin)
    left join vehicle_plates using (vin)
)

select
    customer_id, dealer_code, rfm_segment, rfm_segment_dealer, abc_tier, lifecycle_stage, clv_12m, churn_risk,
    customer_name, mobile, vin, vehicle, plate, consent, why_not_contactable is null as contactable,
    why_not_contactable
from members
