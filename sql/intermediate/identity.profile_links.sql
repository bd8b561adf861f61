-- One row per pair of profiles linked by the model: its best signature pair at or above the
-- match threshold that may link (a profile is compared over every value its signatures hold).
with pairs as (
    select * from identity.signature_pairs
)

select
    least(profile_id_l, profile_id_r) as profile_id_l,
    greatest(profile_id_l, profile_id_r) as profile_id_r,
    max(match_probability) as match_probability
from pairs
where match_probability >= $match_threshold and must_not_link is null
group by all
