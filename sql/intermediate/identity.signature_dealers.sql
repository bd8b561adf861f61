-- The dealers whose signatures must be built again: their kept sales and service rows differ from
-- those identity.signatures was last built from (identity.signature_inputs, one fingerprint per
-- dealer, of the rows and of the code that builds signatures from them), or they have none left.
with now as (
    select dealer_code, fingerprint from identity.signature_inputs_now
),

built as (
    select dealer_code, fingerprint from identity.signature_inputs
)

select dealer_code
from now
full join built using (dealer_code)
where now.fingerprint is distinct from built.fingerprint
order by dealer_code
