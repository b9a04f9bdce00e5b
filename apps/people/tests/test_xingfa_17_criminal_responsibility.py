"""刑法第17条 (ages of criminal responsibility), as a table a legal officer can read: the age at the judgment,
the charge, and whether the law lets it stand."""
import pytest

from apps.people.rules import criminal_responsibility_problem

TABLE = [
    # age at judgment, charge, allowed
    (16, "盗窃罪", True),          # 第一款: 已满十六周岁的人犯罪，应当负刑事责任
    (17, "帮助信息网络犯罪活动罪", True),
    (15, "抢劫罪", True),          # 第二款: the eight offences
    (14, "故意伤害罪", True),
    (15, "贩卖毒品罪", True),
    (15, "强奸罪", True),
    (14, "投放危险物质罪", True),
    (15, "盗窃罪", False),         # not among the eight
    (14, "寻衅滋事罪", False),
    (15, "聚众斗殴罪", False),
    (13, "故意杀人罪", True),      # 第三款: 12-13 only for intentional homicide or injury
    (12, "故意伤害罪", True),
    (13, "抢劫罪", False),
    (11, "故意杀人罪", False),     # under 12: never
]


@pytest.mark.parametrize("age,crime,allowed", TABLE)
def test_xingfa_17(age, crime, allowed):
    problem = criminal_responsibility_problem(age_at_judgment=age, crime=crime)
    assert (problem is None) == allowed
    if problem:
        assert "刑法第17条" in problem
