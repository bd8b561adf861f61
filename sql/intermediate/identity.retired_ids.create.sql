-- Ids retired by earlier runs into this output (none on the first).
create table if not exists identity.retired_ids (customer_id varchar, merged_into varchar)
