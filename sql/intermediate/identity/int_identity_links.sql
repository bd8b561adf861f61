-- Profile pairs the model accepts, less those that must never link whatever the score:
-- different names (family members share a mobile and an address, not a name) and two different
-- valid ID numbers (two people for certain). Names agree when they sound the same (name_key:
-- 张伟 = 張偉 = 张玮 = Wei Zhang) or their keys are nearly the same ("jon smith", "john smith").
-- Keys, not the names as written: DuckDB's Jaro-Winkler compares bytes, and Chinese characters
-- share leading bytes, so 博琳杨 and 华杨 would look alike.
with pairs as (
    select * from identity.profile_pairs
),

profiles as (
    select * from identity.profiles
)

select pairs.profile_id_l, pairs.profile_id_r, pairs.match_probability
from pairs
join profiles as l on l.profile_id = pairs.profile_id_l
join profiles as r on r.profile_id = pairs.profile_id_r
where (l.name_key = r.name_key
        or jaro_winkler_similarity(coalesce(l.name_key, ''), coalesce(r.name_key, '')) >= $min_name_similarity)
    and not coalesce(l.id_valid and r.id_valid and l.id_number <> r.id_number, false)
