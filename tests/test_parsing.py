"""The parsing macros on every spelling the contract names, with known valid check digits."""

from datetime import date
from decimal import Decimal

import pytest


@pytest.mark.parametrize(
    ("text", "day_first", "expected"),
    [
        ("2023-01-05", False, date(2023, 1, 5)),
        ("2023/1/5", False, date(2023, 1, 5)),
        ("2023.01.05", False, date(2023, 1, 5)),
        ("20230105", False, date(2023, 1, 5)),
        ("05/01/2023", True, date(2023, 1, 5)),
        ("01/05/2023", False, date(2023, 1, 5)),
        ("5-1-2023", True, date(2023, 1, 5)),
        ("44931", False, date(2023, 1, 5)),  # Excel serial number
        ("44931.625", False, date(2023, 1, 5)),  # Excel serial with a time of day
        ("2023-01-05 14:30:00", False, date(2023, 1, 5)),
        ("2023/1/5 9:05", False, date(2023, 1, 5)),
        ("2023-01-05T14:30:00", False, date(2023, 1, 5)),
        ("2023年1月5日", False, date(2023, 1, 5)),
        (" 2023-01-05 ", False, date(2023, 1, 5)),
        ("2023-02-30", False, None),
        ("13/13/2023", True, None),
        ("unknown", False, None),
        ("待定", False, None),
    ],
)
def test_dates(con, text, day_first, expected):
    assert con.execute("select parse_dms_date($t, $d)", {"t": text, "d": day_first}).fetchone()[0] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13800138000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("+8613800138000", "13800138000"),
        ("0086 13800138000", "13800138000"),
        ("86-13800138000", "13800138000"),
        ("(+86)13800138000", "13800138000"),
        ("(86) 138-0013-8000", "13800138000"),
        ("010-12345678", None),  # a landline
        ("1380013800", None),  # ten digits
        ("12800138000", None),  # no mainland mobile starts 12
    ],
)
def test_mobiles(con, text, expected):
    assert con.execute("select normalize_mobile($t)", {"t": text}).fetchone()[0] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.5", Decimal("1234.50")),
        ("¥1,234.50", Decimal("1234.50")),
        ("¥4870.7", Decimal("4870.70")),
        ("￥-12.345", Decimal("-12.35")),
        ("￥ 1 234.50", Decimal("1234.50")),
        ("RMB 99", Decimal("99.00")),
        ("CNY1,000,000", Decimal("1000000.00")),
        ("12,345.60元", Decimal("12345.60")),
        ("0", Decimal("0.00")),
        ("-350.00", Decimal("-350.00")),
        ("(100.00)", Decimal("-100.00")),
        ("待定", None),
    ],
)
def test_amounts(con, text, expected):
    assert con.execute("select parse_amount($t)", {"t": text}).fetchone()[0] == expected


@pytest.mark.parametrize(
    ("vin", "valid"),
    [
        ("1M8GDM9AXKP042788", True),  # the ISO 3779 textbook example, check digit X
        ("11111111111111111", True),
        ("1HGCM82633A004352", True),
        ("LSVAU2180N2183294", False),  # wrong check digit
        ("1M8GDM9A1KP042788", False),
        ("1M8GDM9AXKP04278", False),  # 16 characters
        ("1M8GDM9AXKP0427O8", False),  # letter O is not allowed
    ],
)
def test_vin_check_digit(con, vin, valid):
    assert con.execute("select vin_is_valid($v)", {"v": vin}).fetchone()[0] is valid


@pytest.mark.parametrize(
    ("id_number", "kind", "valid", "birth", "gender"),
    [
        ("11010519491231002X", "resident", True, date(1949, 12, 31), "female"),  # GB 11643 example
        # a checksum that holds over a birth date before 1900 or after today: not a valid ID
        ("440524188001010014", "resident", False, date(1880, 1, 1), "male"),
        ("110105209901011234", "resident", False, date(2099, 1, 1), "male"),
        ("110105194912310021", "resident", False, date(1949, 12, 31), "female"),
        ("310101196101497394", "resident", False, None, "male"),  # a typo in the birth date
        ("91350100M000100Y43", "company", True, None, None),  # GB 32100 example
        ("91350100M000100Y44", "company", False, None, None),
        ("E12345678", "other", None, None, None),  # a passport
    ],
)
def test_id_numbers(con, id_number, kind, valid, birth, gender):
    row = con.execute(
        "select id_type($v), id_is_valid($v), id_birth_date($v), id_gender($v)",
        {"v": id_number},
    ).fetchone()
    assert row == (kind, valid, birth, gender)


def test_csv_fields(con):
    written = ['"a, b"', '"he said ""hi"""', '="0012"', "  ", " x ", " y", "z ", "'110101", '""']
    fields = con.execute("select csv_field(x) from unnest($written) t(x)", {"written": written}).fetchall()
    assert [f for (f,) in fields] == ["a, b", 'he said "hi"', "0012", None, "x", "y", "z", "110101", None]


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("英", "杨", "杨英"),  # Chinese: family name first, no space
        ("海恒通物流有限公司", "上", "上海恒通物流有限公司"),  # a company name torn in two is whole again
        ("Wei", "Zhang", "Wei Zhang"),  # Latin: given name, then family name
        (None, "杨", "杨"),
        ("Fang", None, "Fang"),
        (None, None, None),
    ],
)
def test_names_from_split_fields(con, first, last, expected):
    assert con.execute("select assembled_name($f, $l)", {"f": first, "l": last}).fetchone()[0] == expected
