-- The signatures whose rule cluster must be found again since the last run (identity.rule_clusters
-- as it left them): the new ones, and every signature of a last cluster that lost one or that a new
-- one shares a rule's key with (it may split, or join another). The rules link on fields that are
-- part of the signature, so a signature that stays keeps its edges; its cluster changes only
-- through signatures that come or go. Gone signatures are listed too (present false): their
-- edges go with them.
with now as (
    select signature_key, dealer_code, customer_no, id_number, mobile, name_key from identity.signatures
),

last as (
    select signature_key, cluster from identity.rule_clusters
),

added as (
    select * from now anti join last using (signature_key)
),

removed as (
    select * from last anti join now using (signature_key)
),

-- the signatures sharing a key of identity.rule_edges with a new one (a wider net than the rules':
-- a wider one only finds more clusters again)
sharing_a_key as (
    select signature_key from now
    semi join (select distinct id_number from added where id_number is not null) using (id_number)
    union all
    select signature_key from now
    semi join (select distinct dealer_code, customer_no from added where customer_no is not null)
        using (dealer_code, customer_no)
    union all
    select signature_key from now
    semi join (select distinct mobile, name_key from added where mobile is not null and name_key is not null)
        using (mobile, name_key)
),

changed_clusters as (
    select cluster from removed
    union
    select cluster from last semi join sharing_a_key using (signature_key)
)

select signature_key, true as present from added
union all
select last.signature_key, now.signature_key is not null as present
from last
left join now using (signature_key)
where last.cluster in (select cluster from changed_clusters)
