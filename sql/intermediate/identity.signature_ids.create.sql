-- The customer ids of the last run into this output (none on the first): identity.signature_ids
-- keeps them where the clusters allow.
create table if not exists identity.signature_ids (signature_key uhugeint, cluster bigint, customer_id varchar)
