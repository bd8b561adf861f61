"""Synthetic people: names, resident ID and company credit codes with valid check characters,
mobiles shared inside families, addresses. Vectorized with numpy; no loop over people."""

from __future__ import annotations

import numpy as np
import polars as pl

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余于杜叶程魏苏吕丁任沈姚卢")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建文斌宇浩凯丹晨颖婷雪琳欣怡嘉俊博志鑫")
COMMON_NAMES = ["张伟", "王伟", "王芳", "李伟", "李娜", "张敏", "李静", "王静", "刘伟", "王秀英", "张丽", "刘洋"]
# a character a clerk types in its place (same sound or shape)
TYPO_OF = dict(zip("伟芳娜敏静丽强磊军洋勇艳杰娟涛明", "玮方那民净莉墙垒君阳永燕洁鹃滔铭", strict=True))
MOBILE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
                   "153", "155", "156", "158", "159", "166", "177", "180", "181", "185", "186", "187",
                   "188", "189", "199"]
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = np.array(list("10X98765432"))
CREDIT_CHARS = np.array(list("0123456789ABCDEFGHJKLMNPQRTUWXY"))
CREDIT_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28])
COMPANY_WORDS = ["恒通", "华信", "远大", "鼎盛", "宏达", "金桥", "新世纪", "东方", "瑞丰", "中联"]
COMPANY_KINDS = ["物流有限公司", "贸易有限公司", "科技有限公司", "汽车租赁有限公司", "建设工程有限公司"]
STREETS = ["人民路", "解放路", "中山路", "建设路", "和平路", "长江路", "南京路", "学府路", "光明街", "新华街"]


def _join(*parts: np.ndarray) -> np.ndarray:
    out = parts[0].astype(object)
    for part in parts[1:]:
        out = out + part.astype(object)
    return out.astype(str)


def resident_ids(rng: np.random.Generator, region: np.ndarray, birth: np.ndarray,
                 male: np.ndarray) -> np.ndarray:
    """18-character resident ID numbers (GB 11643) with a correct check character, unique: the
    sequence number is drawn again wherever two people share region, birth date and sequence."""
    n = len(region)
    prefix = _join(region, np.char.replace(np.datetime_as_string(birth, unit="D").astype("U10"), "-", ""))
    seq = rng.integers(0, 500, n)
    while len(repeated := _repeated(np.char.add(prefix, seq.astype(str)))):
        seq[repeated] = rng.integers(0, 500, len(repeated))
    body = _join(prefix, np.char.zfill((seq * 2 + male.astype(int)).astype(str), 3))
    digits = np.frombuffer(body.astype("S17").tobytes(), dtype=np.uint8).reshape(n, 17) - ord("0")
    return _join(body, ID_CHECK[(digits @ ID_WEIGHTS) % 11])


def _repeated(values: np.ndarray) -> np.ndarray:
    """Positions of values equal to an earlier one."""
    _, first = np.unique(values, return_index=True)
    return np.setdiff1d(np.arange(len(values)), first)


def unique_mobiles(rng: np.random.Generator, n: int) -> np.ndarray:
    """n different mainland mobiles: two people never share one by chance (families do, on purpose)."""
    def draw(k: int) -> np.ndarray:
        return _join(np.array(MOBILE_PREFIXES)[rng.integers(0, len(MOBILE_PREFIXES), k)],
                     np.char.zfill(rng.integers(0, 10**8, k).astype(str), 8))

    mobiles = draw(n)
    while len(repeated := _repeated(mobiles)):
        mobiles[repeated] = draw(len(repeated))
    return mobiles


def credit_codes(rng: np.random.Generator, region: np.ndarray) -> np.ndarray:
    """Unified social credit codes of companies (GB 32100) with a correct check character."""
    n = len(region)
    head = np.full(n, "91")
    tail = CREDIT_CHARS[rng.integers(0, len(CREDIT_CHARS), (n, 9))]
    body = _join(head, region, *tail.T)
    lookup = np.zeros(256, dtype=np.int64)
    lookup[[ord(c) for c in CREDIT_CHARS]] = np.arange(len(CREDIT_CHARS))
    values = lookup[np.frombuffer(body.astype("S17").tobytes(), dtype=np.uint8).reshape(n, 17)]
    check = (31 - (values @ CREDIT_WEIGHTS) % 31) % 31
    return _join(body, CREDIT_CHARS[check])


def dealer_quality(rng: np.random.Generator, n_dealers: int) -> pl.DataFrame:
    """How well each dealer keeps its customers: the share of its customers who stop coming at
    some point (30-60%), how soon they stop (a mean of 500-1,300 days of activity: short at a
    dealer that fails to turn new customers into stable ones) and the share who move to another
    dealer of the network (3-15%). The head-office report must find the worst of them."""
    return pl.DataFrame({
        "stop_share": rng.uniform(0.30, 0.60, n_dealers),
        "stop_mean_days": rng.uniform(500, 1300, n_dealers),
        "switch_share": rng.uniform(0.03, 0.15, n_dealers),
    })


def make_people(rng: np.random.Generator, n: int, dealers: pl.DataFrame, quality: pl.DataFrame) -> pl.DataFrame:
    """One row per person (or company) who may buy or service a car; whether and when they stop
    coming or move to another dealer follows their home dealer's `quality`."""
    person_id = np.arange(1, n + 1)
    is_company = rng.random(n) < 0.04
    male = rng.random(n) < 0.58
    surname = np.array(SURNAMES)[np.minimum(rng.geometric(0.06, n) - 1, len(SURNAMES) - 1)]
    given1 = np.array(GIVEN)[rng.integers(0, len(GIVEN), n)]
    given2 = np.where(rng.random(n) < 0.7, np.array(GIVEN)[rng.integers(0, len(GIVEN), n)], "")
    name = _join(surname, given1, given2)
    common = rng.random(n) < 0.05
    name = np.where(common, np.array(COMMON_NAMES)[rng.integers(0, len(COMMON_NAMES), n)], name)

    home = rng.integers(0, dealers.height, n)
    region = dealers["region_code"].to_numpy()[home]
    city = dealers["city"].to_numpy()[home]
    company_name = _join(city, np.array(COMPANY_WORDS)[rng.integers(0, len(COMPANY_WORDS), n)],
                         np.array(COMPANY_KINDS)[rng.integers(0, len(COMPANY_KINDS), n)])
    name = np.where(is_company, company_name, name)

    birth = np.datetime64("1955-01-01") + rng.integers(0, 48 * 365, n).astype("timedelta64[D]")
    id_number = np.where(is_company, credit_codes(rng, region), resident_ids(rng, region, birth, male))

    mobile = unique_mobiles(rng, n)
    # family members: about one person in eight shares the mobile of an earlier person
    family = (rng.random(n) < 0.12) & ~is_company
    heads = person_id[~family & ~is_company]
    head = np.where(family, heads[rng.integers(0, len(heads), n)], person_id)
    household = head
    mobile = np.where(family, mobile[head - 1], mobile)
    home = np.where(family, home[head - 1], home)
    address = _join(dealers["province"].to_numpy()[home], dealers["city"].to_numpy()[home],
                    np.array(STREETS)[rng.integers(0, len(STREETS), n)],
                    rng.integers(1, 999, n).astype(str), np.full(n, "号"),
                    rng.integers(1, 30, n).astype(str), np.full(n, "栋"),
                    rng.integers(1, 33, n).astype(str), np.char.zfill(rng.integers(1, 5, n).astype(str), 2),
                    np.full(n, "室"))
    address = np.where(family, address[head - 1], address)

    switch = rng.random(n) < quality["switch_share"].to_numpy()[home]
    return pl.DataFrame({
        "person_id": person_id,
        "household_id": household,
        "is_company": is_company,
        "name": name,
        "gender": np.where(is_company, "", np.where(male, "男", "女")),
        "birth_date": np.where(is_company, np.datetime64("NaT"), birth),
        "id_number": id_number,
        "mobile": mobile,
        "email": np.where(rng.random(n) < 0.3, _join(rng.integers(10**5, 10**9, n).astype(str),
                                                     np.full(n, "@qq.com")), ""),
        "address": address,
        "postcode": dealers["postcode"].to_numpy()[home],
        "home_dealer": home,
        "switch_dealer": np.where(switch, rng.integers(0, dealers.height, n), -1),
        "switch_after_days": rng.integers(365, 4 * 365, n),
        "active_days": np.where(rng.random(n) < quality["stop_share"].to_numpy()[home],
                                rng.exponential(1.0, n) * quality["stop_mean_days"].to_numpy()[home],
                                1e9).astype(np.int64),
        "consent": np.array(["是", "否", ""])[rng.choice(3, n, p=[0.55, 0.1, 0.35])],
    })


def misspell(rng: np.random.Generator, names: pl.Series, rate: float) -> pl.Series:
    """Names as a clerk types them: for about `rate` of the rows, characters that sound or look
    alike replace the right ones (伟 -> 玮)."""
    hit = rng.random(len(names)) < rate
    typo = names.str.replace_many(list(TYPO_OF), list(TYPO_OF.values()))
    return pl.Series(names.name, np.where(hit, typo.to_numpy(), names.to_numpy()))
