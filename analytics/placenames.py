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

GENERIC = (  # longest first where one ends another: 自治县 before 县
    ("城乡一体化示范区", "Urban-Rural Integration Demonstration Zone"),
    ("高新技术产业开发区", "High-tech Industrial Development Zone"),
    ("高技术产业开发区", "High-tech Industrial Development Zone"),
    ("高新技术产业园区", "High-tech Industrial Park"), ("高新技术开发区", "High-tech Development Zone"),
    ("经济技术开发区", "Economic and Technological Development Zone"), ("经济开发区", "Economic Development Zone"),
    ("经济综合实验区", "Comprehensive Economic Experimental Zone"), ("综合实验区", "Comprehensive Experimental Zone"),
    ("化工园区", "Chemical Industry Park"), ("工业园区", "Industrial Park"), ("产业园区", "Industrial Park"),
    ("创意园区", "Creative Park"), ("特别行政区", "Special Administrative Region"),
    ("开发区", "Development Zone"), ("风景名胜区", "Scenic Area"), ("示范区", "Demonstration Zone"),
    ("管理区管委会", "Administrative Zone"), ("管理区", "Administrative Zone"), ("行政委员会", "Administrative Committee"),
    ("自治区", "Autonomous Region"), ("自治县", "Autonomous County"), ("自治州", "Autonomous Prefecture"),
    ("自治旗", "Autonomous Banner"), ("联合旗", "United Banner"),
    ("林区", "Forestry District"), ("特区", "Special District"), ("新区", "New Area"), ("新城", "New Town"),
    ("地区", "Prefecture"), ("矿区", "Mining District"), ("群岛", "Islands"), ("区", "District"), ("县", "County"),
    ("旗", "Banner"), ("盟", "League"), ("市", ""), ("省", ""),
)
# A banner's place in its league, as on China's English maps (科尔沁左翼中旗 → Horqin Left Middle Banner; the
# specific part stays in pinyin here): read from the end of the specific part, innermost first.
BANNER_PLACE = (("前", "Front"), ("中", "Middle"), ("后", "Rear"))
BANNER_SIDE = (("左翼", "Left"), ("右翼", "Right"), ("左", "Left"), ("右", "Right"))
# Zones and parks are named after their province and city (河北唐山芦台经济开发区): each a word of its own.
PROVINCES = sorted("""北京 天津 河北 山西 内蒙古 辽宁 吉林 黑龙江 上海 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 广西
海南 重庆 四川 贵州 云南 西藏 陕西 甘肃 青海 宁夏 新疆""".split(), key=len, reverse=True)
# prefecture-level cities of three or four characters (the rest have two), so a zone named after one splits right;
# 中新苏滁 (a China-Singapore zone named after two places) is kept whole the same way
LONG_CITIES = sorted("""石家庄 秦皇岛 张家口 呼和浩特 乌兰察布 鄂尔多斯 呼伦贝尔 巴彦淖尔 葫芦岛 齐齐哈尔 哈尔滨 牡丹江 佳木斯 七台河
双鸭山 连云港 马鞍山 景德镇 平顶山 三门峡 驻马店 张家界 防城港 攀枝花 六盘水 乌鲁木齐 克拉玛依 吐鲁番 石嘴山 嘉峪关 日喀则
西双版纳 大兴安岭 中新苏滁""".split(), key=len, reverse=True)
ZONES = ("Zone", "Park", "New Area", "New Town")  # generics of zones named after their province and city
WORDS = {"内蒙古": "Inner Mongolia"}  # a part with an English name of its own
EXACT = {"中沙群岛的岛礁及其海域": "Zhongsha Islands, Reefs and Waters", "香港特别行政区": "Hong Kong",
         "澳门特别行政区": "Macao", "内蒙古自治区": "Inner Mongolia", "新疆维吾尔自治区": "Xinjiang",
         "广西壮族自治区": "Guangxi", "宁夏回族自治区": "Ningxia", "西藏自治区": "Xizang"}
# China's 55 minority peoples as named in autonomous areas (族 follows each); longest first so 土家 wins over 土
ETHNIC = sorted("""蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 东乡 纳西 景颇
柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙
鄂伦春 赫哲 门巴 珞巴 基诺 各""".split(), key=len, reverse=True)
# readings pypinyin gets wrong in place names (checked against the national list of counties): 长 is chang in
# every county name but 长子; 漯河 is Luohe; longest first
READINGS = {"长子": "zhang zi", "长": "chang", "勒": "le", "漯": "luo"}
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


def _peoples(name: str, autonomous: bool) -> tuple[str, list[str]]:
    """("延边", ["朝鲜族"]) from "延边朝鲜族": the peoples an autonomous area is named for, peeled from the end; in
    an autonomous area's name also without 族 (博尔塔拉蒙古自治州 → ("博尔塔拉", ["蒙古"]))."""
    peoples = []
    while True:
        zu = name.endswith("族")
        if not zu and not autonomous:
            break
        stem = name[:-1] if zu else name
        people = next((p for p in ETHNIC if stem.endswith(p) and len(stem) > len(p)), None)
        if people is None:
            break
        peoples.insert(0, people + ("族" if zu else ""))
        name = stem[: -len(people)]
    return name, peoples


def _banner(name: str) -> tuple[str, list[str]]:
    """("科尔沁", ["Left", "Middle"]) from "科尔沁左翼中", the specific part of a banner's name."""
    words = []
    for table in (BANNER_PLACE, BANNER_SIDE):
        for han, english in table:
            if name.endswith(han) and len(name) > len(han) + 1:
                name, words = name[: -len(han)], [english, *words]
                break
    return name, words


def _parts(name: str, zone: bool) -> list[str]:
    """河北唐山芦台 → [河北, 唐山, 芦台]; 岳阳市屈原 → [岳阳, 屈原]; 长春净月 → [长春, 净月] (a zone): the province and
    city a zone is named after, each its own word."""
    parts = []
    province = next((p for p in PROVINCES if name.startswith(p) and len(name) > len(p) + 1), None)
    if province:
        parts.append(province)
        name = name[len(province):]
    head, city, rest = name.partition("市")
    if city and head:  # 岳阳市屈原, 秦皇岛市
        parts.append(head)
        name = rest
    elif (zone or province) and len(name) >= 4:  # 长春净月, 安徽芜湖三山
        long_city = next((c for c in LONG_CITIES if name.startswith(c)), None)
        cut = len(long_city) if long_city else 2
        if len(name) > cut + 1:
            parts.append(name[:cut])
            name = name[cut:]
    return [*parts, name] if name else parts


@lru_cache(maxsize=8192)
def romanize(name: str) -> str:
    """合肥市 → Hefei, 蜀山区 → Shushan District, 恩施土家族苗族自治州 → Enshi Tujiazu Miaozu Autonomous Prefecture,
    科尔沁左翼中旗 → Ke'erqin Left Middle Banner, 河北唐山芦台经济开发区 → Hebei Tangshan Lutai Economic Development
    Zone. A name without Chinese characters is returned as it is."""
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
    name, peoples = _peoples(name, generic.startswith("Autonomous"))  # 延边朝鲜族自治州, 顺河回族区
    place: list[str] = []
    if generic.endswith("Banner") and not peoples:
        name, place = _banner(name)
    words = [WORDS.get(part) or _word(part) for part in _parts(name, generic.endswith(ZONES))]
    return " ".join([*words, *(_word(p) for p in peoples), *place, generic]).strip()
