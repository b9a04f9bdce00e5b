"""The demo's supervisees: about 2,000 (or as many as asked, up to a province's 100,000) in the real 南昌 tree of
apps.orgs.places, registered by the demo accounts of apps.orgs.demo. Generation only: everything here returns
plain dicts and never touches the database, so the seed command (`manage.py seed_demo`), the tests and the
screenshots share one deterministic data set.

People are synthetic: names, ID numbers (valid GB 11643 check digit), addresses and sentences are drawn from
realistic distributions with a fixed seed; any likeness to a real person is chance. Minors' offences respect
刑法第17条 (the ages of criminal responsibility), and residence points lie inside the county's boundary (WGS-84)."""
from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from apps.orgs.demo import DEMO_SEED, GIVEN_NAMES, SURNAMES, staff_username
from apps.orgs.places import CITY_COURT_NAME, URBAN_COUNTIES, first_office, load_areas

from . import rules

DEMO_TODAY = date(2026, 11, 22)
DEMO_COUNT = 2000

_OTHER_ETHNIC = ("畲族", "回族", "苗族", "土家族", "壮族", "满族", "侗族", "瑶族")
_PHONE_PREFIX = ("130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 166 173 175 176 "
                 "177 178 180 181 182 183 184 185 186 187 188 189 191 193 195 198 199").split()
_PROVINCE_ABBR = {"11": "京", "12": "津", "13": "冀", "14": "晋", "15": "蒙", "21": "辽", "22": "吉", "23": "黑",
                  "31": "沪", "32": "苏", "33": "浙", "34": "皖", "35": "闽", "36": "赣", "37": "鲁", "41": "豫",
                  "42": "鄂", "43": "湘", "44": "粤", "45": "桂", "46": "琼", "50": "渝", "51": "川", "52": "贵",
                  "53": "云", "54": "藏", "61": "陕", "62": "甘", "63": "青", "64": "宁", "65": "新"}
# Where migrants living in 南昌 come from (neighbouring and labour-exporting provinces).
_MIGRANT_PROVINCES = (("43", 25), ("42", 15), ("34", 15), ("35", 10), ("44", 8), ("33", 8), ("41", 8),
                      ("51", 6), ("32", 3), ("45", 3), ("52", 3))
# Before 2015 新建区 was 新建县 (360122) and 红谷滩区 (2019) was carved out of it; ID numbers keep the old code.
_LEGACY_ID_REGION = {"360112": "360122", "360113": "360122"}

_ROADS = {
    "360102": "阳明路 八一大道 中山路 胜利路 象山北路 叠山路 福州路 民德路 永叔路 豫章路 孺子路 洪都北大道 北京西路 沿江北大道 二七北路",
    "360103": "孺子路 系马桩街 抚河北路 船山路 桃花路 南浦路 站前路 井冈山大道 洪城路 丁公路 象山南路 朝阳中路 桃苑大街 九洲大街",
    "360104": "井冈山大道 洪都中大道 迎宾中大道 京山南路 三店西路 昌南大道 解放西路 徐家坊路 岱山西路 洪都南大道",
    "360111": "北京东路 上海路 湖滨东路 青山南路 南京东路 解放东路 艾溪湖北路 昌东大道 高新大道 京东大道",
    "360112": "长堎大道 子实路 新建大道 红湾大道 礼步湖路 望城大道 乐化大道 溪霞路",
    "360113": "赣江中大道 红谷中大道 丰和中大道 世贸路 九龙大道 会展路 学府大道 凤凰中大道 庐山南大道 碟子湖大道 紫阳大道",
    "360121": "澄湖路 莲塘北大道 向塘大道 小蓝大道 汇仁大道 富山大道 金沙大道 东莲路 澄碧湖路 银湖路",
    "360123": "龙津大道 文峰路 凤凰路 城南大道 东阳大道 向阳路 西山大道",
    "360124": "胜利路 青岚大道 金山大道 晏殊大道 城东大道 前进路 中山路 民和大道",
}
_ROADS = {k: v.split() for k, v in _ROADS.items()}
_COMMUNITIES = ("阳光花园 锦绣苑 城南新村 洪都新村 铁路新村 建设新村 南钢生活区 江纺宿舍 滨江花园 万达星城 绿地国际 "
                "恒大名都 保利公园 中海碧林湾 正荣大湖之都 新城吾悦 象湖新城 青山湖小区 红谷凯旋 世纪中央城 金色家园 "
                "丽景湾 碧桂园 金域名都 省建二公司宿舍 市政宿舍 师大家属区").split()
_TOWN_ROADS = ("人民路", "建设路", "解放路", "商贸街", "新街", "老街", "工业大道", "中心大道")
_VILLAGES = ("罗家 万家 熊坊 涂家 胡家 黄家 刘家 李家 陈家 杨家 高桥 石桥 新民 前进 东升 胜利 红星 和平 港口 枫林 "
             "塘头 湖头 樟树 桥头 岭下 塘边 上湾 下湾 大路 洲上 河东 河西 坪上 店前 游家 喻家 邓坊 彭桥 梅林 "
             "松树 龙岗 观前 长春 湖塘 渡头 罗坊 沙岗 泉塘").split()
_EDUCATION = (("文盲或半文盲", 2), ("小学", 12), ("初中", 40), ("高中", 15), ("中专", 8), ("大专", 12), ("本科", 10),
              ("研究生", 1))
_OCCUPATIONS = (("无业", 16), ("务工", 16), ("个体经营", 14), ("企业职工", 12), ("务农", 8), ("公司职员", 8),
                ("货车司机", 4), ("网约车司机", 3), ("外卖骑手", 4), ("建筑工人", 5), ("自由职业", 5), ("餐饮服务", 3),
                ("装修工", 2))

# --- crimes and sentences ---------------------------------------------------------------------
# (crime, weight, share of women, (min, mode, max) age, share sentenced to 拘役 rather than 有期徒刑,
#  fine range in yuan or None)
_PROBATION_CRIMES = (
    ("危险驾驶罪", 30, 0.05, (20, 38, 65), 1.0, (2000, 10000)),
    ("帮助信息网络犯罪活动罪", 11, 0.22, (18, 24, 45), 0.15, (3000, 20000)),
    ("盗窃罪", 10, 0.12, (18, 30, 65), 0.3, (2000, 20000)),
    ("诈骗罪", 8, 0.25, (20, 33, 60), 0.1, (5000, 50000)),
    ("故意伤害罪", 8, 0.06, (18, 38, 70), 0.1, None),
    ("交通肇事罪", 6, 0.06, (20, 40, 68), 0.0, None),
    ("开设赌场罪", 5, 0.15, (22, 40, 65), 0.05, (10000, 50000)),
    ("掩饰、隐瞒犯罪所得罪", 5, 0.2, (18, 28, 55), 0.2, (3000, 20000)),
    ("寻衅滋事罪", 4, 0.03, (18, 28, 55), 0.1, None),
    ("非法吸收公众存款罪", 2, 0.3, (30, 48, 70), 0.0, (50000, 200000)),
    ("信用卡诈骗罪", 2, 0.2, (22, 35, 55), 0.0, (20000, 50000)),
    ("非法捕捞水产品罪", 2, 0.02, (30, 50, 72), 0.5, None),
    ("妨害公务罪", 2, 0.1, (20, 40, 65), 0.3, None),
    ("聚众斗殴罪", 1.5, 0.02, (18, 24, 40), 0.0, None),
    ("职务侵占罪", 1, 0.25, (25, 38, 58), 0.0, (10000, 50000)),
    ("非法经营罪", 1, 0.2, (25, 42, 65), 0.0, (10000, 100000)),
    ("拒不支付劳动报酬罪", 1, 0.1, (30, 45, 62), 0.0, (10000, 30000)),
    ("失火罪", 0.5, 0.2, (40, 62, 75), 0.3, None),
    ("受贿罪", 0.5, 0.15, (40, 52, 65), 0.0, (200000, 500000)),
)
_MINOR_CRIMES = (("盗窃罪", 35, (2000, 5000)), ("寻衅滋事罪", 20, None), ("聚众斗殴罪", 15, None),
                 ("故意伤害罪", 15, None), ("抢劫罪", 10, (1000, 3000)), ("帮助信息网络犯罪活动罪", 5, (1000, 3000)))
_CONTROL_CRIMES = (("寻衅滋事罪", 25, 0.05), ("故意伤害罪", 20, 0.05), ("盗窃罪", 15, 0.15), ("妨害公务罪", 15, 0.1),
                   ("非法侵入住宅罪", 8, 0.1), ("侮辱罪", 5, 0.3), ("重婚罪", 5, 0.3), ("聚众斗殴罪", 7, 0.02))
# parole: (crime, weight, share of women, (min, max) original years, fine range)
_PAROLE_CRIMES = (
    ("贩卖毒品罪", 20, 0.12, (7, 15), (10000, 50000)), ("抢劫罪", 12, 0.03, (3, 10), (3000, 20000)),
    ("故意伤害罪", 12, 0.04, (3, 10), None), ("诈骗罪", 12, 0.2, (3, 12), (20000, 100000)),
    ("盗窃罪", 10, 0.08, (3, 7), (5000, 30000)), ("合同诈骗罪", 4, 0.15, (3, 10), (20000, 100000)),
    ("集资诈骗罪", 3, 0.25, (5, 15), (50000, 300000)), ("非法吸收公众存款罪", 5, 0.25, (3, 8), (50000, 200000)),
    ("组织、领导传销活动罪", 4, 0.3, (3, 8), (20000, 100000)), ("开设赌场罪", 4, 0.1, (3, 7), (20000, 100000)),
    ("受贿罪", 4, 0.1, (3, 12), (200000, 800000)), ("聚众斗殴罪", 3, 0.0, (3, 7), None),
    ("故意杀人罪", 2, 0.1, (10, 15), None),
)
# temporary release (暂予监外执行): serious illness, pregnancy or nursing, unable to look after oneself
_MEDICAL_CRIMES = (
    ("诈骗罪", 20, 0.45, (2, 10), (10000, 100000)), ("贩卖毒品罪", 15, 0.55, (3, 15), (10000, 50000)),
    ("盗窃罪", 12, 0.4, (1, 6), (3000, 30000)), ("非法吸收公众存款罪", 10, 0.4, (3, 8), (50000, 200000)),
    ("组织、领导传销活动罪", 8, 0.5, (3, 7), (20000, 100000)), ("故意伤害罪", 8, 0.1, (2, 8), None),
    ("交通肇事罪", 7, 0.05, (2, 5), None), ("受贿罪", 8, 0.15, (3, 10), (200000, 500000)),
    ("帮助信息网络犯罪活动罪", 6, 0.45, (1, 3), (5000, 20000)),
)
_SENTENCE_SHARES = ((rules.SentenceType.PROBATION, 75), (rules.SentenceType.PAROLE, 12),
                    (rules.SentenceType.MEDICAL_PAROLE, 8), (rules.SentenceType.CONTROL, 5))
# 有期徒刑 months -> 缓刑考验期 months (考验期 ≥ 原判刑期 and ≥ 1 year, ≤ 5 years)
_PRISON_PROBATION = (((6, 12), 8), ((8, 12), 8), ((10, 12), 6), ((10, 18), 5), ((12, 12), 6), ((12, 18), 12),
                     ((12, 24), 8), ((18, 24), 10), ((18, 36), 3), ((24, 36), 10), ((30, 36), 4), ((36, 48), 5),
                     ((36, 60), 3))
# 拘役 months -> 缓刑考验期 months (≥ 原判刑期, ≥ 2 months, ≤ 1 year)
_ARREST_PROBATION = (((1, 2), 15), ((1, 3), 10), ((2, 3), 10), ((2, 4), 15), ((3, 4), 8), ((3, 6), 12),
                     ((4, 6), 8), ((4, 8), 8), ((5, 10), 6), ((6, 12), 8))
_OTHER_PAROLE_COURTS = (("赣04", "江西省九江市中级人民法院"), ("赣07", "江西省赣州市中级人民法院"),
                        ("赣08", "江西省吉安市中级人民法院"), ("赣09", "江西省宜春市中级人民法院"))
PRISON_BUREAU = "江西省监狱管理局"

_CN = "零一二三四五六七八九"


def cn_number(n: int) -> str:
    """0-99 in Chinese numerals as judgments write them (十二, 二十)."""
    if n < 10:
        return _CN[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _CN[tens]) + "十" + (_CN[ones] if ones else "")


def cn_term(months: int) -> str:
    """18 -> 一年六个月; 24 -> 二年; 8 -> 八个月."""
    years, rest = divmod(months, 12)
    return (f"{cn_number(years)}年" if years else "") + (f"{cn_number(rest)}个月" if rest else "")


def cn_money(yuan: int) -> str:
    """15000 -> 一万五千元; 200000 -> 二十万元; 3000 -> 三千元."""
    wan, rest = divmod(yuan, 10000)
    text = f"{cn_number(wan)}万" if wan else ""
    if rest >= 1000:
        text += f"{_CN[rest // 1000]}千"
    return text + "元"


class _Gen:
    """Draws from one seeded random generator; every call order is fixed, so the output is too."""

    def __init__(self, seed: int, data_dir: str):
        self.rng = random.Random(seed)
        self.data_dir = data_dir
        self.used_ids: set[str] = set()
        self.case_numbers: dict[tuple[str, int], set[int]] = {}
        self.areas = load_areas(data_dir)
        # NBS codes ending 71-79 are development zones and parks, not places an ID number comes from
        real = sorted(c for c in self.areas if not "71" <= c[4:] <= "79")
        self.jiangxi_other = [c for c in real if c.startswith("36") and not c.startswith("3601")]
        self.by_province: dict[str, list[str]] = {}
        for code in real:
            self.by_province.setdefault(code[:2], []).append(code)

    # basic draws
    def pick(self, items):
        return self.rng.choice(items)

    def weighted(self, pairs):
        items, weights = zip(*pairs)
        return self.rng.choices(items, weights=weights)[0]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def age(self, lo: int, mode: int, hi: int) -> int:
        return int(round(self.rng.triangular(lo, hi, mode)))

    def phone(self) -> str:
        return self.pick(_PHONE_PREFIX) + f"{self.rng.randint(0, 99999999):08d}"

    def surname(self) -> str:
        return self.weighted(SURNAMES)

    def given_name(self, gender: str, birth_year: int) -> str:
        era = 0 if birth_year < 1970 else 1 if birth_year < 1990 else 2
        if self.chance(0.15):  # names do not follow the era strictly, but not by two generations
            era = self.rng.choice((max(0, era - 1), min(2, era + 1)))
        return self.pick(GIVEN_NAMES[(gender, era)])

    def full_name(self, gender: str, birth_year: int, surname: str | None = None) -> str:
        return (surname or self.surname()) + self.given_name(gender, birth_year)

    def ethnicity(self) -> str:
        return "汉族" if self.chance(0.975) else self.pick(_OTHER_ETHNIC)

    def id_number(self, region: str, born: date, gender: str) -> str:
        """Sequence codes 000-099 are never drawn: they are left for numbers typed into tests by hand."""
        for _ in range(10_000):  # 450 numbers a day, region and sex: never exhausted by a province's demo
            seq = self.rng.randint(10, 99)
            sex = self.rng.choice((1, 3, 5, 7, 9) if gender == "M" else (0, 2, 4, 6, 8))
            first17 = f"{region}{born:%Y%m%d}{seq:02d}{sex}"
            number = first17 + rules.id_check_digit(first17)
            if number not in self.used_ids:
                self.used_ids.add(number)
                return number
        raise RuntimeError(f"no free ID number for {region} {born}")

    def case_number(self, court_code: str, year: int) -> int:
        """A free case number of that court and year. A busy court's numbers run into the thousands: the range
        grows with the numbers used, so a province-sized demo never runs out."""
        used = self.case_numbers.setdefault((court_code, year), set())
        while True:
            n = self.rng.randint(1, max(980, len(used) * 2))
            if n not in used:
                used.add(n)
                return n

    def fine(self, span) -> int:
        lo, hi = span
        step = 10000 if lo >= 100000 else 1000
        return self.rng.randint(lo // step, hi // step) * step


def _addr_base(county_name: str) -> str:
    return f"江西省南昌市{county_name}"


def _address(g: _Gen, county: dict, office: dict) -> str:
    """A residence address inside the township of the office."""
    base = _addr_base(county["area_name"]) + office["township"]
    if office["kind"] == "street" or (office["kind"] == "area" and county["adcode"] in URBAN_COUNTIES):
        road = g.pick(_ROADS[county["adcode"]])
        text = f"{base}{road}{g.rng.randint(1, 999)}号"
        if g.chance(0.6):
            text += g.pick(_COMMUNITIES)
        floor = g.rng.randint(1, 26 if g.chance(0.5) else 7)
        return text + f"{g.rng.randint(1, 30)}栋{g.rng.randint(1, 4)}单元{floor}{g.rng.randint(1, 4):02d}室"
    if g.chance(0.35):  # in the market town
        road = g.pick(_TOWN_ROADS + (f"{office['short_name']}大道",))
        return f"{base}{road}{g.rng.randint(1, 300)}号"
    v1, v2 = g.rng.sample(_VILLAGES, 2)
    if g.chance(0.5):
        return f"{base}{v1}村委会{v2}村{g.rng.randint(1, 120)}号"
    return f"{base}{v1}村{cn_number(g.rng.randint(1, 12))}组{g.rng.randint(1, 80)}号"


def _far_address(g: _Gen, adcode: str) -> str:
    """A household address in a county outside 南昌 (village level; the township names are not in our data)."""
    a = g.areas[adcode]
    prefix = a["province"] + ("" if a["city"] in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划") else a["city"])
    v1, v2 = g.rng.sample(_VILLAGES, 2)
    if a["name"].endswith("区") or g.chance(0.3):
        return f"{prefix}{a['name']}{g.pick(_TOWN_ROADS)}{g.rng.randint(1, 400)}号"
    return f"{prefix}{a['name']}{v1}村委会{v2}村{g.rng.randint(1, 150)}号"


# --- residence points inside the county polygon ------------------------------------------------
class _Sampler:
    """Uniform points inside each county polygon, kept ~300 m from the border so a GCJ-02/WGS-84 datum
    shift or a rounding step never moves them outside."""

    def __init__(self, plan: dict):
        from shapely.geometry import shape
        from shapely.prepared import prep

        self.areas = {}
        for c in plan["counties"]:
            geom = shape(c["boundary"])
            inner = geom.buffer(-0.003)
            self.areas[c["adcode"]] = (inner.bounds, prep(inner))

    def point(self, g: _Gen, county: str) -> tuple[float, float]:
        from shapely.geometry import Point

        (x0, y0, x1, y1), inside = self.areas[county]
        while True:
            x, y = round(g.rng.uniform(x0, x1), 6), round(g.rng.uniform(y0, y1), 6)
            if inside.contains(Point(x, y)):
                return x, y



# --- supervisees ----------------------------------------------------------------------------------
def _office_weight(county: str, office: dict) -> float:
    w = {"street": 1.0, "area": 0.6, "town": 0.8, "township": 0.5}[office["kind"]]
    return w * (1.6 if county in URBAN_COUNTIES else 1.0)


def _sentence(g: _Gen, st: rules.SentenceType, *, minor: bool, gender: str | None):
    """-> (crime, gender, (min, mode, max) age or None, penalty text, months): the months are the 管制 term or
    缓刑 probation period, or for 假释/暂予监外执行 the part of the prison term still to run."""
    if minor:
        crime, fine = g.weighted([((c, f), w) for c, w, f in _MINOR_CRIMES])
        if st == rules.SentenceType.CONTROL:
            term = g.pick((6, 8, 12))
            return crime, gender or ("M" if g.chance(0.88) else "F"), None, f"管制{cn_term(term)}", term
        (prison, probation) = g.weighted(_PRISON_PROBATION[:8])
        text = f"有期徒刑{cn_term(prison)}，缓刑{cn_term(probation)}"
        if fine:
            text += f"，并处罚金人民币{cn_money(g.fine(fine))}"
        return crime, gender or ("M" if g.chance(0.88) else "F"), None, text, probation
    if st == rules.SentenceType.PROBATION:
        crime, _w, women, ages, arrest, fine = g.weighted([(c, c[1]) for c in _PROBATION_CRIMES])
        gender = gender or ("F" if g.chance(women) else "M")
        if g.chance(arrest):
            (orig, probation) = g.weighted(_ARREST_PROBATION)
            text = f"拘役{cn_term(orig)}，缓刑{cn_term(probation)}"
        else:
            (orig, probation) = g.weighted(_PRISON_PROBATION)
            text = f"有期徒刑{cn_term(orig)}，缓刑{cn_term(probation)}"
        if fine:
            text += f"，并处罚金人民币{cn_money(g.fine(fine))}"
        return crime, gender, ages, text, probation
    if st == rules.SentenceType.CONTROL:
        crime, women = g.weighted([((c, f), w) for c, w, f in _CONTROL_CRIMES])
        gender = gender or ("F" if g.chance(women) else "M")
        term = g.weighted(((6, 20), (8, 15), (10, 10), (12, 25), (18, 15), (24, 10), (4, 5)))
        return crime, gender, (18, 35, 70), f"管制{cn_term(term)}", term
    table = _PAROLE_CRIMES if st == rules.SentenceType.PAROLE else _MEDICAL_CRIMES
    crime, _w, women, (lo, hi), fine = g.weighted([(c, c[1]) for c in table])
    gender = gender or ("F" if g.chance(women) else "M")
    months = g.rng.randint(lo, hi) * 12 + (6 if g.chance(0.25) else 0)
    text = f"有期徒刑{cn_term(months)}"
    if fine:
        text += f"，并处罚金人民币{cn_money(g.fine(fine))}"
    if st == rules.SentenceType.PAROLE:
        rest = g.rng.randint(6, max(6, min(months // 2, 48)))  # parole after at least half the term
    else:
        rest = g.rng.randint(max(6, months // 3), max(6, months - 3))
    ages = (22, 38, 65) if st == rules.SentenceType.PAROLE else (22, 45, 75)
    return crime, gender, ages, text, rest


def _approx_days(months: int) -> int:
    return int(months * 30.44)


def people_plan(plan: dict, *, count: int = DEMO_COUNT, seed: int = DEMO_SEED, today: date = DEMO_TODAY,
                data_dir: str | Path) -> list[dict[str, Any]]:
    return list(iter_people(plan, count=count, seed=seed, today=today, data_dir=data_dir))


def iter_people(plan: dict, *, count: int = DEMO_COUNT, seed: int = DEMO_SEED, today: date = DEMO_TODAY,
                data_dir: str | Path):
    """`count` supervisees, one at a time (a province's 100,000 need not sit in memory together). Each dict:
    office (adcode9), county (adcode6), data (the fields supervisee_clean reads, without judicial_office),
    deciding_organ (an org key or None), status, lon, lat (WGS-84), contacts, team."""
    g = _Gen(seed, str(data_dir))
    sampler = _Sampler(plan)
    offices = [(c, o) for c in plan["counties"] for o in c["offices"]]
    weights = [_office_weight(c["adcode"], o) for c, o in offices]
    county_by_code = {c["adcode"]: c for c in plan["counties"]}
    first = first_office(plan, "360102")
    for i in range(count):
        if i < 2:  # the 东湖区 first office always has minors, for the masking tests and screenshots
            county, office = county_by_code["360102"], first
            forced = {"minor": True, "gender": "M" if i == 0 else "F", "status": "active"}
        else:
            county, office = g.rng.choices(offices, weights=weights)[0]
            forced = {}
        yield _person(g, sampler, county, office, county_by_code, today, **forced)


def _person(g: _Gen, sampler: _Sampler, county: dict, office: dict, counties: dict, today: date, *,
            minor: bool | None = None, gender: str | None = None, status: str | None = None) -> dict[str, Any]:
    c6 = county["adcode"]
    minor = g.chance(0.02) if minor is None else minor
    st = (rules.SentenceType.PROBATION if g.chance(0.95) else rules.SentenceType.CONTROL) if minor \
        else g.weighted(_SENTENCE_SHARES)
    crime, gender, ages, penalty, months = _sentence(g, st, minor=minor, gender=gender)

    # when: pending (judgment just took effect), active, or already released
    status = status or g.weighted((("active", 86), ("pending", 3), ("released", 11)))
    detention = 0
    if st == rules.SentenceType.CONTROL:
        detention = g.rng.randint(0, min(60, _approx_days(months) // 4)) if g.chance(0.6) else 0
    length = _approx_days(months) - 2 * detention
    if status == "pending":
        start = today - timedelta(days=g.rng.randint(0, 9))
    elif status == "released":
        end = today - timedelta(days=g.rng.randint(1, 540))
        start = end - timedelta(days=length)
    else:
        earliest = max(length - 5, 12)
        start = today - timedelta(days=g.rng.randint(12, min(earliest, 1095)))
    dates: dict[str, Any] = {"term_months": None, "detention_days": detention, "release_date": None,
                             "sentence_end_date": None}
    court = f"court:{c6}"
    organ_name = county["court"]["name"]
    court_code = f"赣{c6[2:]}"
    if st in (rules.SentenceType.PROBATION, rules.SentenceType.CONTROL):
        effective = start
        judgment = effective - timedelta(days=g.rng.randint(11, 25))  # 10 days to appeal, then delivery
        dates.update(term_months=months)
        kind = "刑初"
        if g.chance(0.05):  # upheld or changed on appeal
            court, organ_name, court_code, kind = None, CITY_COURT_NAME, "赣01", "刑终"
            effective = start
            judgment = effective - timedelta(days=g.rng.randint(3, 10))
        elif g.chance(0.06):  # tried by another court of the city (where the offence happened)
            other = g.pick([c for c in counties if c != c6])
            court, organ_name, court_code = f"court:{other}", counties[other]["court"]["name"], f"赣{other[2:]}"
        number = f"（{judgment.year}）{court_code}{kind}{g.case_number(court_code + kind, judgment.year)}号"
    elif st == rules.SentenceType.PAROLE:
        judgment = start - timedelta(days=g.rng.randint(1, 7))  # ruling, then release from prison
        effective = judgment
        dates.update(release_date=start, sentence_end_date=start + timedelta(days=_approx_days(months)))
        court = None
        court_code, organ_name = ("赣01", CITY_COURT_NAME) if g.chance(0.8) else g.pick(_OTHER_PAROLE_COURTS)
        number = f"（{judgment.year}）{court_code}刑更{g.case_number(court_code + '刑更', judgment.year)}号"
    else:
        dates.update(release_date=start, sentence_end_date=start + timedelta(days=_approx_days(months)))
        if g.chance(0.45):  # decided by the court with the judgment: never taken to prison
            judgment = start - timedelta(days=g.rng.randint(11, 25))
            effective = start
            n = g.case_number(court_code + "刑初", judgment.year)
            number = f"（{judgment.year}）{court_code}刑初{n}号之一"
        else:  # decided by the prison administration for a sentenced prisoner
            judgment = start - timedelta(days=g.rng.randint(2, 12))
            effective = judgment
            court, organ_name = "prison:0", PRISON_BUREAU
            number = f"赣狱暂字〔{judgment.year}〕{g.case_number('赣狱暂字', judgment.year)}号"

    period = rules.supervision_period(rules.Sentence(
        sentence_type=st, judgment_date=judgment, effective_date=effective, term_months=dates["term_months"],
        detention_days=detention, release_date=dates["release_date"], sentence_end_date=dates["sentence_end_date"]))
    assert period.ok, period.errors
    if status != "pending":
        status = "released" if period.end < today else "active"

    # who: age at the start of supervision, then a birth date and an ID number that agree with it
    if minor:
        age = g.rng.randint(14, 17)
    else:
        age = min(75, max(18, g.age(*(ages or (18, 35, 70)))))
    born = start - timedelta(days=int(age * 365.25) + g.rng.randint(0, 360))
    while rules.age_on(born, start) > age:
        born += timedelta(days=1)
    while rules.age_on(born, start) < age:
        born -= timedelta(days=1)
    if minor:
        # 刑法第17条: at least 14 when judged (the offence came earlier still), and under 16 only for the offences
        # the article lists
        while rules.age_on(born, judgment) < 14:
            born -= timedelta(days=1)
        if rules.criminal_responsibility_problem(age_at_judgment=rules.age_on(born, judgment), crime=crime):
            crime = g.weighted((("抢劫罪", 60), ("故意伤害罪", 35), ("贩卖毒品罪", 5)))

    origin = g.weighted((("local", 76), ("city", 8), ("jiangxi", 9), ("migrant", 7))) if not minor \
        else g.weighted((("local", 85), ("city", 10), ("migrant", 5)))
    residence = _address(g, county, office)
    if origin == "local":
        region = _LEGACY_ID_REGION[c6] if c6 in _LEGACY_ID_REGION and born.year < 2005 and g.chance(0.6) else c6
        hh_code = c6
        if g.chance(0.7):
            household = residence
        else:
            household = _address(g, county, g.pick(county["offices"]))
    elif origin == "city":
        other = counties[g.pick([c for c in counties if c != c6])]
        region = hh_code = other["adcode"]
        household = _address(g, other, g.pick(other["offices"]))
    elif origin == "jiangxi":
        region = hh_code = g.pick(g.jiangxi_other)
        household = _far_address(g, region)
    else:
        prov = g.weighted(_MIGRANT_PROVINCES)
        region = hh_code = g.pick(g.by_province[prov])
        household = _far_address(g, region)
        if st == rules.SentenceType.PROBATION and court == f"court:{c6}" and g.chance(0.3):
            # sentenced where the offence was committed, at home; corrected where they live now
            a = g.areas[region]
            urban = a["name"].endswith("区") and a["city"] not in ("市辖区", "县")
            organ_name = (a["city"] if urban else "") + a["name"] + "人民法院"
            code = _PROVINCE_ABBR[region[:2]] + region[2:]
            court = None
            number = f"（{judgment.year}）{code}刑初{g.case_number(code, judgment.year)}号"

    name = g.full_name(gender, born.year)
    id_number = g.id_number(region, born, gender)
    if minor:
        education = g.pick(("初中", "初中", "高中", "中专")) if age >= 16 else g.pick(("初中", "初中", "小学"))
        occupation = g.weighted((("在校学生", 55), ("无业", 30), ("务工", 15)))
    else:
        education = g.weighted(_EDUCATION)
        if age >= 18 and age <= 22 and g.chance(0.3):
            education, occupation = g.pick(("大专", "本科")), "在校学生"
        elif age >= 62:
            occupation = g.weighted((("退休", 40), ("务农", 35), ("无业", 25)))
        else:
            occupation = g.weighted(_OCCUPATIONS)
        if crime == "危险驾驶罪" and occupation in ("无业", "务农") and g.chance(0.5):
            occupation = g.pick(("个体经营", "企业职工", "公司职员"))
        if crime == "受贿罪":
            occupation, education = "无业（原国家工作人员）", g.pick(("本科", "研究生", "大专"))

    months_in = (today - start).days / 30.44
    if status == "pending" or (status == "active" and months_in < 2):
        level = rules.Level.STRICT
    elif status == "released":
        level = g.weighted(((rules.Level.NORMAL, 70), (rules.Level.LENIENT, 30)))
    elif months_in >= 8:
        level = g.weighted(((rules.Level.NORMAL, 62), (rules.Level.LENIENT, 26), (rules.Level.STRICT, 12)))
    else:
        level = g.weighted(((rules.Level.NORMAL, 88), (rules.Level.STRICT, 12)))

    lon, lat = sampler.point(g, c6)
    data = {
        "name": name, "gender": gender, "ethnicity": g.ethnicity(), "id_number": id_number,
        "phone": g.phone() if (not minor or g.chance(0.7)) else "",
        "education": education, "occupation": occupation, "household_adcode": hh_code,
        "household_address": household, "residence_address": residence, "sentence_type": st.value,
        "deciding_organ_name": organ_name, "judgment_number": number, "crime": crime, "original_penalty": penalty,
        "judgment_date": judgment, "effective_date": effective, "management_level": level.value, **dates,
    }
    if st == rules.SentenceType.MEDICAL_PAROLE:  # mostly 保外就医; the grounds drawn from the number, not the stream
        k = sum(map(ord, number)) % 10
        data["temporary_ground"] = (rules.Ground.PREGNANT if gender == "F" and k < 4 else
                                    rules.Ground.INCAPABLE if k == 9 else rules.Ground.MEDICAL).value
    contacts = _contacts(g, data, born, minor, residence)
    return {"office": office["adcode"], "county": c6, "data": data, "deciding_organ": court, "status": status,
            "lon": lon, "lat": lat, "minor": minor, "contacts": contacts,
            "team": _team(g, gender, minor, born, contacts, office)}


def _contacts(g: _Gen, data: dict, born: date, minor: bool, residence: str) -> list[dict[str, Any]]:
    surname = data["name"][:2] if data["name"].startswith("欧阳") else data["name"][0]
    age = rules.age_on(born, DEMO_TODAY)
    out = []
    if minor:
        out.append({"name": surname + g.given_name("M", born.year - 28), "relation": "父亲", "phone": g.phone(),
                    "address": residence, "is_guardian": True})
        if g.chance(0.8):
            out.append({"name": g.full_name("F", born.year - 26), "relation": "母亲", "phone": g.phone(),
                        "address": residence, "is_guardian": g.chance(0.6)})
        return out
    choices = []
    if age >= 24 and g.chance(0.72):
        spouse_gender = "F" if data["gender"] == "M" else "M"
        choices.append(("配偶", g.full_name(spouse_gender, born.year + g.rng.randint(-3, 3)), residence))
    if age < 52:
        choices.append(("父亲", surname + g.given_name("M", born.year - 27), data["household_address"]))
        choices.append(("母亲", g.full_name("F", born.year - 25), data["household_address"]))
    if age >= 45:
        kid = g.pick(("儿子", "女儿"))
        choices.append((kid, surname + g.given_name("M" if kid == "儿子" else "F", born.year + 26), ""))
    sib = g.pick(("哥哥", "姐姐", "弟弟", "妹妹"))
    choices.append((sib, surname + g.given_name("M" if sib in ("哥哥", "弟弟") else "F", born.year), ""))
    for relation, name, address in choices[: g.rng.randint(1, 2)]:
        out.append({"name": name, "relation": relation, "phone": g.phone(), "address": address, "is_guardian": False})
    return out


def _team(g: _Gen, gender: str, minor: bool, born: date, contacts: list[dict], office: dict) -> list[dict[str, Any]]:
    """The correction team: the office worker (linked to the staff account), a residents' committee member and,
    for some, a family member, social worker or volunteer. A woman supervisee has a woman on the team and a
    minor someone who knows minors (社区矫正法 第25条、第52条)."""
    team = [{"name": None, "kind": "office", "gender": None, "phone": "", "knows_minors": False,
             "staff": staff_username(office["adcode"])}]
    comm_gender = "F" if g.chance(0.6) else "M"
    team.append({"name": g.full_name(comm_gender, g.rng.randint(1965, 1995)), "kind": "community",
                 "gender": comm_gender, "phone": g.phone(), "knows_minors": False, "staff": None})
    if minor:
        guardian = next((c for c in contacts if c["is_guardian"]), contacts[0])
        team.append({"name": guardian["name"], "kind": "family", "gender": "F" if guardian["relation"] == "母亲" else "M",
                     "phone": guardian["phone"], "knows_minors": False, "staff": None})
        sw_gender = "F" if g.chance(0.7) else "M"
        team.append({"name": g.full_name(sw_gender, g.rng.randint(1985, 1998)), "kind": "social_worker",
                     "gender": sw_gender, "phone": g.phone(), "knows_minors": True, "staff": None})
    elif g.chance(0.55):
        extra = g.weighted((("family", 50), ("social_worker", 25), ("volunteer", 15), ("workplace", 10)))
        if extra == "family" and contacts:
            c = contacts[0]
            female = c["relation"] in ("母亲", "姐姐", "妹妹", "女儿") or (c["relation"] == "配偶" and gender == "M")
            team.append({"name": c["name"], "kind": "family", "gender": "F" if female else "M",
                         "phone": c["phone"], "knows_minors": False, "staff": None})
        else:
            kind = "social_worker" if extra == "family" else extra
            eg = "F" if g.chance(0.5) else "M"
            team.append({"name": g.full_name(eg, g.rng.randint(1970, 2000)), "kind": kind, "gender": eg,
                         "phone": g.phone(), "knows_minors": False, "staff": None})
    if gender == "F" and team[1]["gender"] != "F":  # the residents' committee sends a woman
        team[1].update(gender="F", name=g.full_name("F", g.rng.randint(1965, 1995)))
    return team

