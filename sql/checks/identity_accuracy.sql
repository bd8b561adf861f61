-- Pairwise precision and recall of the resolved customers against the generator's truth
-- (truth_records: dealer_code, source, record_id, person_id), over the rows both hold.
with crosswalk as (
    select * from identity.identity_crosswalk
),

truth as (
    select * from truth_records
),

joined as (
    select crosswalk.customer_id, truth.person_id
    from crosswalk
    join truth using (dealer_code, source, record_id)
),

cells as (
    select customer_id, person_id, count(*) as n from joined group by customer_id, person_id
),

predicted as (
    select sum(n * (n - 1) / 2) as pairs from (select customer_id, count(*) as n from joined group by customer_id)
),

actual as (
    select sum(n * (n - 1) / 2) as pairs from (select person_id, count(*) as n from joined group by person_id)
),

correct as (
    select sum(n * (n - 1) / 2) as pairs from cells
)

select
    correct.pairs / nullif(predicted.pairs, 0) as precision,
    correct.pairs / nullif(actual.pairs, 0) as recall,
    predicted.pairs as predicted_pairs,
    actual.pairs as true_pairs,
    (select count(distinct customer_id) from joined) as customers,
    (select count(distinct person_id) from joined) as persons
from correct, predicted, actual
