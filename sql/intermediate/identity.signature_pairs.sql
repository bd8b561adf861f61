-- Every signature pair the model scored at or above its floor, across two profiles, with the
-- profiles they belong to and, where the pair must never link whatever its score, why:
--   different_ids  two different valid resident IDs or credit codes: two people for certain
--   family         a shared mobile (or one a digit apart: a family plan's numbers) or address,
--                  given names clearly different, and nothing else in common (no ID within a typo,
--                  birth date, email or car)
--   next_owner     a shared VIN under different names, one owner's records ending before the
--                  other's begin: a used car's previous and next owner
--   common_name    the same common name (carried by at least $common_name_min_count profiles and
--                  $common_name_share of them) and no second strong agreement
-- Each reason tests its cheap equalities first and the edit distances last, so these are computed
-- only for the pairs still in question.
with scored as (
    select * from identity.scored_signature_pairs
),

signatures as (
    select signatures.*, signature_profiles.signature_id, signature_profiles.profile_id
    from identity.signatures as signatures
    join identity.signature_profiles as signature_profiles using (signature_key)
),

paired_signatures as (
    select * from signatures
    where signature_id in (select signature_id_l from scored union select signature_id_r from scored)
),

name_profiles as (
    -- profiles, not signatures: one customer with many signatures does not make a name common
    select name_key, count(distinct profile_id) as n_profiles
    from signatures
    where name_key is not null
    group by name_key
),

common_names as (
    select name_key
    from name_profiles
    where n_profiles >= $common_name_min_count
      and n_profiles >= $common_name_share * (select count(distinct profile_id) from signatures)
)

select
    l.profile_id as profile_id_l,
    r.profile_id as profile_id_r,
    l.signature_id as signature_id_l,
    r.signature_id as signature_id_r,
    scored.match_probability,
    case
        when coalesce(l.id_valid and r.id_valid and l.id_type in ('resident', 'company') and l.id_type = r.id_type
                      and l.id_number <> r.id_number, false)
            then 'different_ids'
        when (coalesce(l.mobile = r.mobile, false) or coalesce(l.address_norm = r.address_norm, false)
              or coalesce(levenshtein(l.mobile, r.mobile) = 1, false))
             -- the given names differ
             and case
                     when l.name_script = 'latin' and r.name_script = 'latin' and l.given_key is not null
                          and r.given_key is not null
                         then jaro_winkler_similarity(l.given_key, r.given_key) < 0.8
                              and jaro_winkler_similarity(l.given_key, coalesce(r.family_key, '')) < 0.8
                     when l.given_key is not null and r.given_key is not null
                         then l.given_key <> r.given_key and l.given_key <> coalesce(r.family_key, '')
                     else not coalesce(l.name_key = r.name_key, false)
                 end
             and not (coalesce(l.birth_date = r.birth_date, false) or coalesce(l.email = r.email, false)
                      or coalesce(list_has_any(l.vins, r.vins), false)
                      or coalesce(damerau_levenshtein(l.id_number, r.id_number) <= 1, false))
            then 'family'
        when coalesce(list_has_any(l.vins, r.vins), false)
             and (l.last_seen < r.first_seen or r.last_seen < l.first_seen)
             -- the names do not agree: not the same, not swapped, not a Latin spelling within a typo
             and not (coalesce(l.name_key = r.name_key, false)
                      or coalesce(l.given_key = r.family_key and l.family_key = r.given_key, false)
                      or coalesce(l.name_script = 'latin' and r.name_script = 'latin'
                                  and jaro_winkler_similarity(l.name_key, r.name_key) >= $min_name_similarity, false))
            then 'next_owner'
        when coalesce(l.name_key = r.name_key, false) and l.name_key in (select name_key from common_names)
             and not (coalesce(l.mobile = r.mobile, false) or coalesce(l.birth_date = r.birth_date, false)
                      or coalesce(l.email = r.email, false) or coalesce(l.address_norm = r.address_norm, false)
                      or coalesce(list_has_any(l.vins, r.vins), false)
                      or coalesce(damerau_levenshtein(l.id_number, r.id_number) <= 1, false))
            then 'common_name'
    end as must_not_link
from scored
join paired_signatures as l on l.signature_id = scored.signature_id_l
join paired_signatures as r on r.signature_id = scored.signature_id_r
where l.profile_id <> r.profile_id
