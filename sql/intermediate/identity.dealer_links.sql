-- One row per dealer: a hash of its signatures' customer ids (ids_hash: what its contacts are
-- resolved against) and of their ids and links (links_hash: what its crosswalk rows say), so a
-- run builds a dealer's identity.contacts and identity.identity_crosswalk rows again only when
-- they changed. Each signature's hash is summed: the order of the rows does not count.
select
    dealer_code,
    sum(hash(signature_key, customer_id)) as ids_hash,
    sum(hash(signature_key, customer_id, match_rule, match_probability)) as links_hash
from identity.signature_links
group by dealer_code
