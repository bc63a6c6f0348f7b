"""Chinese place names in English, the way China's own English maps write them (issue 17: English pages showed
合肥市 and 蜀山区 beside "Anhui").

The specific part in Hanyu Pinyin without tones, one word, with an apostrophe where a syllable starting with a, o or
e would otherwise run into the one before it (六安 → Lu'an); the generic part translated (区 → District,
县 → County, 自治州 → Autonomous Prefecture, 旗 → Banner …); a prefecture or county-level city drops 市
(合肥市 → Hefei). The ethnic groups of an autonomous area are written each as one word (延边朝鲜族自治州 →
Yanbian Chaoxianzu Autonomous Prefecture). Pinyin comes from pypinyin, whose phrase dictionary reads the place
names' unusual readings right (番禺 Panyu, 铅山 Yanshan, 蚌埠 Bengbu); it is loaded on the first English name.
"""
from __future__ import annotations

import re
from functools import lru_cache

GENERIC = (  # longest first: 自治县 before 县
    ("经济技术开发区", "Economic and Technological Development Zone"),
    ("高新技术产业开发区", "High-tech Industrial Development Zone"), ("经济开发区", "Economic Development Zone"),
    ("开发区", "Development Zone"), ("风景名胜区", "Scenic Area"), ("示范区", "Demonstration Zone"),
    ("管理区管委会", "Administrative Zone"), ("管理区", "Administrative Zone"), ("行政委员会", "Administrative Committee"),
    ("自治县", "Autonomous County"), ("自治州", "Autonomous Prefecture"), ("自治旗", "Autonomous Banner"),
    ("林区", "Forestry District"), ("特区", "Special District"), ("新区", "New Area"), ("新城", "New Town"),
    ("地区", "Prefecture"), ("矿区", "Mining District"), ("群岛", "Islands"), ("区", "District"), ("县", "County"),
    ("旗", "Banner"), ("盟", "League"), ("市", ""),
)
EXACT = {"中沙群岛的岛礁及其海域": "Zhongsha Islands, Reefs and Waters"}
# China's 55 minority peoples as named in autonomous areas (族 follows each); longest first so 土家 wins over 土
ETHNIC = sorted("""蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 东乡 纳西 景颇
柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙
鄂伦春 赫哲 门巴 珞巴 基诺 各""".split(), key=len, reverse=True)
# readings pypinyin gets wrong in place names (checked against the national list of counties): 长 is chang in
# every county name but 长子; longest first
READINGS = {"长子": "zhang zi", "长": "chang", "勒": "le"}
_HAN = re.compile(r"[\u4e00-\u9fff]")


def has_han(text: str) -> bool:
    return bool(_HAN.search(text))


_READING = re.compile("(" + "|".join(READINGS) + ")")  # in READINGS' order: 长子 before 长


def _syllables(han: str) -> list[str]:
    from pypinyin import Style, lazy_pinyin

    out = []
    for part in _READING.split(han):  # the fixed readings as their own parts, pypinyin for the rest
        out += READINGS[part].split() if part in READINGS else lazy_pinyin(part, style=Style.NORMAL, v_to_u=True)
    return out


def _word(han: str) -> str:
    """One capitalised pinyin word; an apostrophe before a vowel-initial syllable after the first (Lu'an)."""
    out = ""
    for syllable in _syllables(han):
        out += ("'" if out and syllable[:1] in "aoe" else "") + syllable
    return out[:1].upper() + out[1:]


def _peoples(name: str) -> tuple[str, list[str]]:
    """("延边", ["朝鲜族"]) from "延边朝鲜族": the peoples an autonomous area is named for, peeled from the end."""
    peoples = []
    while name.endswith("族"):
        people = next((p for p in ETHNIC if name[:-1].endswith(p) and len(name) - 1 > len(p)), None)
        if people is None:
            break
        peoples.insert(0, people + "族")
        name = name[: -len(people) - 1]
    return name, peoples


@lru_cache(maxsize=8192)
def romanize(name: str) -> str:
    """合肥市 → Hefei, 蜀山区 → Shushan District, 恩施土家族苗族自治州 → Enshi Tujiazu Miaozu Autonomous Prefecture.
    A name without Chinese characters is returned as it is."""
    name = name.strip()
    if not has_han(name):
        return name
    if name in EXACT:
        return EXACT[name]
    generic = ""
    for han, english in GENERIC:
        if name.endswith(han) and len(name) > len(han):
            name, generic = name[: -len(han)], english
            break
    name, peoples = _peoples(name)  # 延边朝鲜族自治州, 顺河回族区
    return " ".join([_word(name), *(_word(p) for p in peoples), generic]).strip()
