-- Parsing and validation macros shared by every layer. Pure functions of their arguments (but one).

-- one field of a CSV line as written: quotes removed, Excel's ="..." text trick and leading
-- apostrophe undone, surrounding spaces trimmed, blanks -> null
create or replace temp macro csv_field(s) as nullif(
    case
        -- most fields: trimmed only when a space starts or ends them (trim reads the whole field)
        when not (starts_with(s, '"') or starts_with(s, '=') or starts_with(s, '''') or starts_with(s, chr(9)))
            then case when starts_with(s, ' ') or ends_with(s, ' ') then trim(s) else s end
        else trim(case
            when s like '"%"' and length(s) >= 2 then replace(s[2:-2], '""', '"')
            when s like '="%"' then replace(s[3:-2], '""', '"')
            else ltrim(s, '''' || chr(9))
        end)
    end, '');

-- a name from a DMS's split name fields: Chinese family name first, no space (杨 + 英 = 杨英; a
-- company name a US-style DMS tore in two is whole again); Latin names "given family"
create or replace temp macro assembled_name(first_name, last_name) as case
    when regexp_full_match(concat(last_name, first_name), '\p{Han}+') then concat(last_name, first_name)
    else nullif(concat_ws(' ', first_name, last_name), '')
end;

-- the fields of one CSV line, quotes kept (csv_field takes them off): a plain split when no quoted
-- field holds the delimiter (the fast path, exact then), a full CSV pattern otherwise
create or replace temp macro csv_fields(raw, delimiter) as case
    when not contains(raw, '"') then string_split(raw, delimiter)
    when delimiter = ',' and not regexp_matches(raw, '(?:^|,)"(?:[^"]|"")*,')
        then string_split(raw, ',')
    when delimiter = ';' and not regexp_matches(raw, '(?:^|;)"(?:[^"]|"")*;')
        then string_split(raw, ';')
    when delimiter = chr(9) and not regexp_matches(raw, '(?:^|\t)"(?:[^"]|"")*\t')
        then string_split(raw, chr(9))
    when delimiter = ';' then regexp_extract_all(raw, '(?:^|;)("(?:[^"]|"")*"|[^;]*)', 1)
    when delimiter = chr(9) then regexp_extract_all(raw, '(?:^|\t)("(?:[^"]|"")*"|[^\t]*)', 1)
    else regexp_extract_all(raw, '(?:^|,)("(?:[^"]|"")*"|[^,]*)', 1)
end;

-- the canonical code of a spelling, from a MAP of ingest.code_maps ('' holds the fallback)
create or replace temp macro code_of(codes, spelling) as coalesce(codes[lower(spelling)], codes['']);

-- a date written any way DMS exports write it, with or without a time; null when it is not a date
create or replace temp macro parse_date_part(d, day_first) as case
    when regexp_full_match(d, '[0-9]{5}(\.[0-9]+)?')
        then cast(date '1899-12-30' + cast(floor(cast(d as double)) as integer) as date)
    when regexp_full_match(d, '[0-9]{8}')
        then cast(try_strptime(d, '%Y%m%d') as date)
    when regexp_full_match(d, '[0-9]{4}[-/.年][0-9]{1,2}[-/.月][0-9]{1,2}日?')
        then cast(try_strptime(rtrim(regexp_replace(d, '[/.年月]', '-', 'g'), '日'), '%Y-%m-%d') as date)
    when regexp_full_match(d, '[0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{4}') and day_first
        then cast(try_strptime(regexp_replace(d, '[/.]', '-', 'g'), '%d-%m-%Y') as date)
    when regexp_full_match(d, '[0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{4}')
        then cast(try_strptime(regexp_replace(d, '[/.]', '-', 'g'), '%m-%d-%Y') as date)
end;

create or replace temp macro parse_dms_date(s, day_first) as
    parse_date_part(regexp_extract(trim(s), '^[^ T]+'), day_first);

-- the first part of a d/m/y or m/d/y date (for telling which of the two a file writes)
create or replace temp macro date_first_part(s) as
    try_cast(regexp_extract(trim(s), '^([0-9]{1,2})[-/.][0-9]{1,2}[-/.][0-9]{4}', 1) as integer);
create or replace temp macro date_second_part(s) as
    try_cast(regexp_extract(trim(s), '^[0-9]{1,2}[-/.]([0-9]{1,2})[-/.][0-9]{4}', 1) as integer);

-- an amount with currency signs, thousands separators and spaces; (100) is negative
-- (a failed try_cast costs more than the test of a plain number; a plain number after a yuan sign,
-- as most DMSs write it, skips the two replacements)
create or replace temp macro parse_amount(s) as case
    when regexp_full_match(s, '-?[0-9]+(\.[0-9]+)?') then try_cast(s as decimal(14, 2))
    when regexp_full_match(s, '[¥￥]-?[0-9]+(\.[0-9]+)?') then try_cast(substr(s, 2) as decimal(14, 2))
    else try_cast(regexp_replace(regexp_replace(s, '(?i)rmb|cny|[¥￥$,\s元)]', '', 'g'), '^\(', '-')
                  as decimal(14, 2))
end;

-- a mainland mobile as 11 digits, from any spelling (+86, 0086, spaces, dashes, brackets)
create or replace temp macro mainland_mobile(digits) as case
    when regexp_full_match(digits, '(?:0086|86)?1[3-9][0-9]{9}')
        then right(digits, 11)
end;
create or replace temp macro normalize_mobile(s) as mainland_mobile(regexp_replace(s, '[^0-9]', '', 'g'));

-- The check characters below weigh the first 17 characters of a code. The sums are written out:
-- a lambda over the positions took 2.5 times as long, on every distinct VIN and ID number.

-- ISO 3779 VIN check digit (position 9)
create or replace temp macro vin_value(c) as (instr('0123456789.ABCDEFGH..JKLMN.P.R..STUVWXYZ', c) - 1) % 10;
create or replace temp macro vin_check_digit(v) as substr('0123456789X', 1 + (
    vin_value(v[1]) * 8 + vin_value(v[2]) * 7 + vin_value(v[3]) * 6 + vin_value(v[4]) * 5
    + vin_value(v[5]) * 4 + vin_value(v[6]) * 3 + vin_value(v[7]) * 2 + vin_value(v[8]) * 10
    + vin_value(v[10]) * 9 + vin_value(v[11]) * 8 + vin_value(v[12]) * 7 + vin_value(v[13]) * 6
    + vin_value(v[14]) * 5 + vin_value(v[15]) * 4 + vin_value(v[16]) * 3 + vin_value(v[17]) * 2) % 11, 1);
create or replace temp macro vin_is_valid(v) as
    coalesce(regexp_full_match(v, '[A-HJ-NPR-Z0-9]{17}') and v[9] = vin_check_digit(v), false);

-- GB 11643 resident ID (18 characters, check character last, birth date inside)
create or replace temp macro digit_value(c) as try_cast(c as integer);
create or replace temp macro resident_id_check(v) as substr('10X98765432', 1 + (
    digit_value(v[1]) * 7 + digit_value(v[2]) * 9 + digit_value(v[3]) * 10 + digit_value(v[4]) * 5
    + digit_value(v[5]) * 8 + digit_value(v[6]) * 4 + digit_value(v[7]) * 2 + digit_value(v[8]) * 1
    + digit_value(v[9]) * 6 + digit_value(v[10]) * 3 + digit_value(v[11]) * 7 + digit_value(v[12]) * 9
    + digit_value(v[13]) * 10 + digit_value(v[14]) * 5 + digit_value(v[15]) * 8 + digit_value(v[16]) * 4
    + digit_value(v[17]) * 2) % 11, 1);
-- (a resident ID with a typo in its birth date is still a resident ID, and invalid)
create or replace temp macro looks_like_resident_id(v) as regexp_full_match(v, '[1-8][0-9]{16}[0-9X]');

-- GB 32100 unified social credit code of a company
create or replace temp macro code_value(c) as instr('0123456789ABCDEFGHJKLMNPQRTUWXY', c) - 1;
create or replace temp macro credit_code_check(v) as substr('0123456789ABCDEFGHJKLMNPQRTUWXY', 1 + (31 - (
    code_value(v[1]) * 1 + code_value(v[2]) * 3 + code_value(v[3]) * 9 + code_value(v[4]) * 27
    + code_value(v[5]) * 19 + code_value(v[6]) * 26 + code_value(v[7]) * 16 + code_value(v[8]) * 17
    + code_value(v[9]) * 20 + code_value(v[10]) * 29 + code_value(v[11]) * 25 + code_value(v[12]) * 13
    + code_value(v[13]) * 8 + code_value(v[14]) * 24 + code_value(v[15]) * 10 + code_value(v[16]) * 30
    + code_value(v[17]) * 28) % 31) % 31, 1);
create or replace temp macro looks_like_credit_code(v) as
    regexp_full_match(v, '[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}');

create or replace temp macro id_type(v) as case
    when v is null then null
    when looks_like_resident_id(v) then 'resident'
    when looks_like_credit_code(v) then 'company'
    else 'other'
end;
-- (a checksum that holds over a birth date before 1900 or after today is a typo that happens to
-- check, not an ID: the one reading of the clock among these macros)
create or replace temp macro id_is_valid(v) as case id_type(v)
    when 'resident' then v[18] = resident_id_check(v)
        and coalesce(cast(try_strptime(substr(v, 7, 8), '%Y%m%d') as date) between date '1900-01-01' and current_date,
                     false)
    when 'company' then v[18] = credit_code_check(v)
end;
create or replace temp macro normalize_id(s) as nullif(upper(regexp_replace(s, '[\s-]', '', 'g')), '');
create or replace temp macro id_birth_date(v) as case
    when id_type(v) = 'resident' then cast(try_strptime(substr(v, 7, 8), '%Y%m%d') as date)
end;
create or replace temp macro id_gender(v) as case
    when id_type(v) = 'resident' then case when try_cast(substr(v, 17, 1) as integer) % 2 = 1 then 'male' else 'female' end
end;
-- the forms identity resolution compares: a name lower-cased with single spaces, an address
-- without spaces; and the key of a record's signature: every field the linkage model compares
-- (two homonyms with different birth dates or emails are two signatures, not one)
create or replace temp macro normalized_name(s) as nullif(lower(regexp_replace(trim(s), '\s+', ' ', 'g')), '');
create or replace temp macro normalized_address(s) as nullif(regexp_replace(trim(s), '\s+', '', 'g'), '');
create or replace temp macro signature_key(dealer_code, customer_no, name_norm, mobile, id_number, address_norm,
                                           other_fields) as
    md5_number(concat_ws('|', dealer_code, customer_no, name_norm, mobile, id_number, address_norm, other_fields));

-- how many characters of a Chinese name in one field are its surname (欧阳娜娜: 2, 张伟: 1)
create or replace temp macro surname_length(name) as case
    when length(name) >= 3 and left(name, 2) in ('欧阳', '司马', '上官', '诸葛', '东方', '皇甫', '尉迟', '公孙', '慕容',
                                                 '长孙', '宇文', '司徒', '夏侯', '令狐', '端木', '西门', '南宫')
        then 2
    else 1
end;

-- one number that orders by day, then by `tiebreak` (below 2^32; a hash of a text value): an
-- arg_max over it makes the same choice on every run, and compares faster than a (date, text) pair
create or replace temp macro day_then(d, tiebreak) as
    date_diff('day', date '1970-01-01', d)::bigint * 4294967296 + tiebreak;
