-- A view of one row per signature: its dealer, its customer and what linked it, the per-signature
-- half of identity.identity_crosswalk. match_rule: the deterministic rules its signature shares with
-- others (id_number, customer_no, mobile_name), '+splink' when the profile model linked its
-- profile to another, 'unlinked' when nothing did (a customer known from this signature's records
-- alone).
with signatures as (
    select signature_key, dealer_code from identity.signatures
),

signature_ids as (
    select signature_key, customer_id from identity.signature_ids
),

rule_edges as (
    select signature_key_l as signature_key, rule from identity.rule_edges
    union all
    select signature_key_r as signature_key, rule from identity.rule_edges
),

-- the distinct rules of a signature's edges, sorted (a list per key: cheaper than string_agg(distinct)
-- over a deduplicating union, bench/RESULTS.md)
signature_rules as (
    select signature_key, array_to_string(list_sort(list_distinct(list(rule))), '+') as rules
    from rule_edges
    group by signature_key
),

linked_profiles as (
    select profile_id_l as profile_id, match_probability from identity.profile_links
    union all
    select profile_id_r as profile_id, match_probability from identity.profile_links
),

profile_scores as (
    select profile_id, max(match_probability) as match_probability from linked_profiles group by profile_id
),

signature_scores as (
    select rule_clusters.signature_key, profile_scores.match_probability
    from identity.rule_clusters as rule_clusters
    join identity.profiles as profiles on profiles.rule_cluster = rule_clusters.cluster
    join profile_scores on profile_scores.profile_id = profiles.profile_id
)

select
    signatures.signature_key,
    signatures.dealer_code,
    signature_ids.customer_id,
    coalesce(nullif(concat_ws('+', signature_rules.rules,
        case when signature_scores.match_probability is not null then 'splink' end), ''), 'unlinked') as match_rule,
    -- Splink's EM sums floats across threads: the last digits differ from run to run
    round(signature_scores.match_probability, 6) as match_probability
from signatures
join signature_ids using (signature_key)
left join signature_rules using (signature_key)
left join signature_scores using (signature_key)
