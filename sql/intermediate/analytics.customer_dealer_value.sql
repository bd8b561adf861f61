-- One row per customer and dealer with what the customer brought that dealer in the value
-- window before as-of: after-sales spend of the visits it took, plus its vehicle sales' value.
with params as (
    select as_of, (as_of - to_months($window_months))::date as window_start from analytics.as_of
),

dealer_values as (
    select customer_id, dealer_code, spend as value
    from analytics.visits, params
    where visit_date > params.window_start
    union all
    select customer_id, dealer_code, value
    from analytics.purchases, params
    where sale_date > params.window_start
)

select customer_id, dealer_code, sum(value)::double as value
from dealer_values
group by customer_id, dealer_code
order by dealer_code, customer_id
