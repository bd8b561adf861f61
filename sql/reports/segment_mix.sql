-- One row per home dealer and RFM segment: the share of the dealer's customers in the segment.
select
    home_dealer_code as dealer_code,
    rfm_segment,
    round(count(*) / sum(count(*)) over (partition by home_dealer_code), 4) as share
from marts.customer_360
group by home_dealer_code, rfm_segment
order by dealer_code, rfm_segment
