"""The supervisee's sign-in as pure rules (no Django): the one-time code the officer gives, the password the person
chooses, and what a phone may do before an officer has approved it."""
from __future__ import annotations

import re

CODE_DIGITS = 6
CODE_HOURS = 72  # an unused code lapses after this (the officer gives a new one)
PASSWORD_MIN = 8


def password_problem(password: str, *, id_number: str, birth: str = "") -> str | None:
    """Why a chosen password is refused, in plain words, or None. Long enough, not the ID number or birthday, not one
    digit repeated or counted up: the first guesses of anyone who knows the person."""
    if len(password) < PASSWORD_MIN:
        return f"密码至少{PASSWORD_MIN}位"
    if len(password) > 64:
        return "密码不能超过64位"
    if len(set(password)) <= 2:
        return "密码太简单，请不要用重复的数字或字母"
    digits = "01234567890"
    if password in digits or password in digits[::-1] or password in "abcdefghijklmnopqrstuvwxyz":
        return "密码太简单，请不要用连续的数字或字母"
    lowered = password.lower()
    idn = id_number.lower()
    if lowered in idn or (len(idn) >= 8 and idn[-8:] in lowered) or (idn[6:14] and idn[6:14] in lowered):
        return "密码不能使用身份证号码或出生日期"
    if birth and re.sub(r"\D", "", birth) in lowered:
        return "密码不能使用出生日期"
    return None


def code_ok(code: str) -> bool:
    return len(code) == CODE_DIGITS and code.isascii() and code.isdigit()


def device_label(user_agent: str) -> str:
    """A short name for a phone from its browser's user agent, for the officer's list (Android 12 · Chrome 120)."""
    ua = user_agent or ""
    os_ = re.search(r"Android [\d.]+|iPhone OS [\d_]+|HarmonyOS[ /]?[\d.]*|Windows NT [\d.]+|Mac OS X [\d_]+", ua)
    model = re.search(r"Android [\d.]+; ([^;)]+?)(?: Build|\))", ua)
    browser = re.search(r"(MicroMessenger|HuaweiBrowser|MiuiBrowser|UCBrowser|Edg|Chrome|Firefox|Safari)/[\d]+", ua)
    parts = [p.group(0).replace("_", ".") for p in (os_, browser) if p]
    if model:
        parts.insert(1, model.group(1).strip())
    return " · ".join(parts)[:120] or "未知设备"
