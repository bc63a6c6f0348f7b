"""English pages name cities and counties in English (issue 17: 合肥市 and 蜀山区 beside "Anhui")."""
from __future__ import annotations

import pytest

from analytics import i18n
from analytics.placenames import romanize


@pytest.mark.parametrize("name, english", [
    ("合肥市", "Hefei"),  # a city drops 市
    ("蜀山区", "Shushan District"),
    ("肥西县", "Feixi County"),
    ("六安市", "Lu'an"),  # an apostrophe before a vowel-initial syllable
    ("西安市", "Xi'an"),
    ("梁园区", "Liangyuan District"),  # 园 is part of the name, not a park
    ("番禺区", "Panyu District"),  # the place name's own reading, not the character's usual one
    ("长治市", "Changzhi"),
    ("长子县", "Zhangzi County"),
    ("延边朝鲜族自治州", "Yanbian Chaoxianzu Autonomous Prefecture"),
    ("恩施土家族苗族自治州", "Enshi Tujiazu Miaozu Autonomous Prefecture"),
    ("鄂伦春自治旗", "Elunchun Autonomous Banner"),
    ("锡林郭勒盟", "Xilinguole League"),
    ("浦东新区", "Pudong New Area"),
    ("吕梁市", "Lüliang"),
    ("Hefei", "Hefei"),
    ("漯河市", "Luohe"),
    ("辽宁省", "Liaoning"),
    ("内蒙古自治区", "Inner Mongolia"),
    # a banner's place in its league in words, not one long pinyin word
    ("科尔沁左翼中旗", "Ke'erqin Left Middle Banner"),
    ("察哈尔右翼后旗", "Chaha'er Right Rear Banner"),
    ("新巴尔虎右旗", "Xinba'erhu Right Banner"),
    ("乌拉特前旗", "Wulate Front Banner"),
    ("达尔罕茂明安联合旗", "Da'erhanmaoming'an United Banner"),
    ("右玉县", "Youyu County"),  # 右 starting a county's name is part of it
    # zones: the province and city they are named after, each a word
    ("河北唐山芦台经济开发区", "Hebei Tangshan Lutai Economic Development Zone"),
    ("岳阳市屈原管理区", "Yueyang Quyuan Administrative Zone"),
    ("长春净月高新技术产业开发区", "Changchun Jingyue High-tech Industrial Development Zone"),
    ("石家庄循环化工园区", "Shijiazhuang Xunhuan Chemical Industry Park"),
    ("平顶山市城乡一体化示范区", "Pingdingshan Urban-Rural Integration Demonstration Zone"),
    ("内蒙古阿拉善高新技术产业开发区", "Inner Mongolia Alashan High-tech Industrial Development Zone"),
    ("苏州工业园区", "Suzhou Industrial Park"),
    ("博尔塔拉蒙古自治州", "Bo'ertala Menggu Autonomous Prefecture"),  # the people named without 族
])
def test_place_names_read_as_on_chinese_english_maps(name, english):
    assert romanize(name) == english


def test_every_region_name_reads_in_english_and_chinese_stays_chinese():
    assert i18n.glossary("province", "蜀山区", "en") == "Shushan District"
    assert i18n.glossary("province", "安徽省", "en") == "Anhui"  # the glossary's own name first
    assert i18n.glossary("province", "蜀山区", "zh") == "蜀山区"
    assert i18n.glossary("dept", "某某局", "en") == "某某局"  # only regions are romanised
