"""The supervisee's password: the first guesses of anyone who knows the person are refused."""
import pytest

from apps.portal import rules

ID = "360102199001011234"


@pytest.mark.parametrize("password, problem", [
    ("Jx2026abc", None),
    ("short1", "至少8位"),
    ("11111111", "太简单"),
    ("12121212", "太简单"),
    ("12345678", "连续"),
    ("87654321", "连续"),
    ("19900101", "身份证号码或出生日期"),
    ("a01011234", "身份证号码"),
    ("x" * 65, "不能超过64位"),
])
def test_password_rule_table(password, problem):
    got = rules.password_problem(password, id_number=ID, birth="1990-01-01")
    assert (got is None) if problem is None else (problem in got)


@pytest.mark.parametrize("ua, want", [
    ("Mozilla/5.0 (Linux; Android 12; Redmi Note 9 Build/SKQ1) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36",
     "Android 12 · Redmi Note 9 · Chrome/120"),
    ("", "未知设备"),
])
def test_device_label(ua, want):
    assert rules.device_label(ua) == want
