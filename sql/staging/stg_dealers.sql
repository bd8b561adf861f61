-- One row per dealer of dealers.csv: name, region, province, city, brand, opening date.
select dealer_code, dealer_name, region, province, city, brand, try_cast(opened_on as date) as opened_on
from read_csv($path, all_varchar = true, header = true, encoding = 'utf-8')
