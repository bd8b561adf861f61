-- The customer id of every signature as the last run left it: what identity.signature_ids keeps
-- and identity.retired_ids compares against.
select signature_key, customer_id from identity.signature_ids
