"""Demo accounts and names for the demo organisation tree (apps.orgs.places): the named sign-ins the README
lists, one county officer per county and one worker per judicial office. Generation only: plain dicts."""
from __future__ import annotations

import random
from typing import Any

from .places import COUNTY_ADCODES

DEMO_PASSWORD = "Zhijiao@2026"
DEMO_SEED = 20261122


# Organisation keys: "province", "city", "county:<adcode6>", "office:<adcode9>", "office:first:<adcode6>"
# (the judicial office with the lowest code in that county), "court:…", "procuratorate:…", "police:…".
DEMO_ACCOUNTS: list[dict[str, Any]] = [
    {"username": "admin", "role": "sysadmin", "org": "province", "full_name": "刘建华", "gender": "M"},
    {"username": "province", "role": "province_supervisor", "org": "province", "full_name": "熊文斌", "gender": "M"},
    {"username": "city", "role": "city_supervisor", "org": "city", "full_name": "万丽萍", "gender": "F"},
    {"username": "donghu", "role": "county_officer", "org": "county:360102", "full_name": "陈志强", "gender": "M"},
    {"username": "donghu_minor", "role": "county_officer", "org": "county:360102", "full_name": "黄晓敏",
     "gender": "F", "minor_access": True},
    {"username": "xihu", "role": "county_officer", "org": "county:360103", "full_name": "胡国平", "gender": "M"},
    {"username": "office", "role": "office_staff", "org": "office:first:360102", "full_name": "李娟", "gender": "F"},
    {"username": "aux", "role": "auxiliary", "org": "office:first:360102", "full_name": "杨帆", "gender": "M"},
    {"username": "social", "role": "social_worker", "org": "office:first:360102", "full_name": "吴婷婷", "gender": "F"},
    {"username": "volunteer", "role": "volunteer", "org": "office:first:360102", "full_name": "徐子豪", "gender": "M"},
    {"username": "police", "role": "police_secondee", "org": "police:360102", "full_name": "罗俊", "gender": "M"},
    {"username": "procurator", "role": "procurator", "org": "procuratorate:360102", "full_name": "邓雅琴",
     "gender": "F"},
]
for _a in DEMO_ACCOUNTS:
    _a.setdefault("minor_access", False)
# The county officer who registers the supervisees of each county (the actor of supervisee_create).
COUNTY_OFFICER = {c: f"officer_{c}" for c in COUNTY_ADCODES} | {"360102": "donghu", "360103": "xihu"}


def staff_username(office_adcode: str) -> str:
    return f"staff_{office_adcode}"

# --- names -------------------------------------------------------------------------------------------
SURNAMES = (  # weighted towards Jiangxi (刘 陈 李 熊 万 涂 喻 are more common here than nationally)
    ("刘", 90), ("李", 70), ("陈", 70), ("王", 60), ("张", 60), ("黄", 50), ("胡", 50), ("吴", 45), ("杨", 40),
    ("罗", 40), ("徐", 40), ("熊", 35), ("万", 30), ("邓", 30), ("曾", 30), ("周", 30), ("朱", 30), ("彭", 30),
    ("肖", 30), ("涂", 25), ("余", 25), ("赵", 20), ("钟", 20), ("谢", 20), ("程", 20), ("邹", 20), ("喻", 15),
    ("龚", 15), ("魏", 15), ("许", 15), ("郭", 15), ("何", 15), ("江", 15), ("付", 15), ("汪", 15), ("郑", 15),
    ("饶", 10), ("聂", 10), ("舒", 10), ("章", 10), ("叶", 12), ("袁", 12), ("戴", 10), ("雷", 10), ("卢", 10),
    ("梁", 10), ("宋", 10), ("唐", 10), ("蔡", 10), ("丁", 10), ("孙", 10), ("高", 10), ("林", 10), ("廖", 8),
    ("傅", 8), ("姚", 8), ("邱", 8), ("夏", 8), ("易", 8), ("谭", 8), ("姜", 8), ("方", 8), ("马", 8), ("石", 7),
    ("金", 6), ("范", 6), ("毛", 6), ("邵", 6), ("游", 6), ("闵", 5), ("严", 5), ("兰", 5), ("甘", 5), ("艾", 5),
    ("欧阳", 4), ("揭", 3), ("淦", 3),
)
GIVEN_NAMES = {
    ("M", 0): ("建国 国平 春生 水根 金华 长根 桂生 福生 建华 德明 文华 志明 国强 新华 海林 金发 荣华 保平 有财 "
               "忠 明 平 华 林 强 军 根 发 福 荣"),
    ("M", 1): ("伟 磊 军 勇 杰 涛 斌 超 明 刚 辉 鹏 飞 龙 俊 波 峰 亮 强 东 志强 建军 海涛 晓东 永红 小平 文斌 "
               "国庆 志刚 俊杰 建平 卫东 春华 晓峰 海波 云飞 小龙 红兵 剑锋 立新"),
    ("M", 2): ("浩 宇 轩 博 晨 睿 鑫 凯 翔 豪 旭 航 阳 帅 子豪 浩然 宇轩 梓豪 俊杰 博文 嘉豪 家乐 一鸣 思远 泽宇 "
               "逸飞 文涛 鹏飞 志豪 天宇 子健 明轩 宇航 晨阳 梓涵 俊熙 浩宇 锦程"),
    ("F", 0): "秀英 桂英 兰英 冬梅 玉珍 凤英 春花 金莲 菊香 爱华 美兰 淑珍 秀兰 桂花 玉兰 小梅 琴 芳 梅 珍",
    ("F", 1): ("丽 娟 艳 敏 静 霞 燕 红 芳 萍 玲 莉 丽萍 晓燕 海燕 春燕 小红 丽娟 雪梅 艳红 慧 晓丽 美玲 "
               "丽华 秀芳 婷 琳 红霞"),
    ("F", 2): ("欣怡 雨婷 梦琪 佳怡 思琪 诗涵 雨涵 子涵 可馨 婷婷 悦 瑶 雪 琪 萱 佳 梦瑶 欣然 晓雯 雅琪 "
               "慧敏 心怡 雨欣 紫涵 诗琪 怡 静怡 梓萱"),
}
GIVEN_NAMES = {k: v.split() for k, v in GIVEN_NAMES.items()}


def staff_plan(plan: dict, seed: int = DEMO_SEED) -> list[dict[str, Any]]:
    """The named demo accounts, then one county officer for each county without a named one and one office
    worker per judicial office. Each: username, full_name, gender, phone, role, org (key), minor_access."""
    rng = random.Random(seed + 1)
    named = {a["username"] for a in DEMO_ACCOUNTS}
    out = []
    for a in DEMO_ACCOUNTS:
        out.append({**a, "phone": f"1{rng.choice('3578')}{rng.randint(0, 999999999):09d}", "named": True})
    used_names = {a["full_name"] for a in DEMO_ACCOUNTS}

    def name(gender: str) -> str:
        while True:
            born = rng.randint(1968, 1998)
            sur = rng.choices([s for s, _ in SURNAMES], weights=[w for _, w in SURNAMES])[0]
            full = sur + rng.choice(GIVEN_NAMES[(gender, 0 if born < 1970 else 1 if born < 1990 else 2)])
            if full not in used_names:
                used_names.add(full)
                return full

    for c in plan["counties"]:
        username = COUNTY_OFFICER[c["adcode"]]
        if username not in named:
            gender = "M" if rng.random() < 0.6 else "F"
            out.append({"username": username, "full_name": name(gender), "gender": gender, "role": "county_officer",
                        "org": f"county:{c['adcode']}", "minor_access": False, "named": False,
                        "phone": f"1{rng.choice('3578')}{rng.randint(0, 999999999):09d}"})
    for c in plan["counties"]:
        for o in c["offices"]:
            gender = "F" if rng.random() < 0.45 else "M"
            out.append({"username": staff_username(o["adcode"]), "full_name": name(gender), "gender": gender,
                        "role": "office_staff", "org": f"office:{o['adcode']}", "minor_access": False, "named": False,
                        "phone": f"1{rng.choice('3578')}{rng.randint(0, 999999999):09d}"})
    return out

