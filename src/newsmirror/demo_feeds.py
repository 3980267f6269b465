"""The feeds ``newsmirror demo`` archives: five imaginary outlets, generated as bytes.

The demo runs the whole pipeline offline, so it needs feeds that look like the
real ones newsmirror meets: every format it parses (RSS 2.0, Atom 1.0, RSS 1.0,
JSON Feed 1.1, and RSS 2.0 in a legacy encoding), HTML the way feeds carry it
(CDATA spread over indented lines, entity-escaped markup, relative and absolute
image URLs, a ``<pre>`` block), and the awkward cases of SPEC.md ("What bad
input gets"), each once:

* an item with no date ............................ ``tianqi`` (RSS 2.0), story 8
* an item with no ``<link>``, only a permalink guid  ``shufang`` (Big5 RSS 2.0), story 6
* the same item listed twice ...................... ``kexue`` (Atom), story 3
* an item dated two days after ``now`` ............ ``jishu`` (JSON Feed), story 1
* a title that holds ``../`` ...................... ``shequ`` (RSS 1.0), story 3
* a title full of ASCII ``" : / # [ \\`` ........... ``jishu`` (JSON Feed), story 2

and, beyond those, HTML text holding ``]]>`` (``tianqi`` story 5, which the CDATA
section must split) and links carrying ``utm_*`` tracking parameters (``shequ``).

Every word here was written for newsmirror: the outlets, people and events are
fictional, the hosts are under ``example.org`` (RFC 2606). Nothing is copied
from a real outlet or from the test corpus.

This module is pure: the bytes depend on ``now`` alone (the same ``now`` gives
the same bytes); it never touches the network, the clock or the file system.
"""

from __future__ import annotations

import email.utils
import json
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from xml.sax.saxutils import escape, quoteattr

# The outlets are imaginary but Chinese; their feeds state times in UTC+8 where
# the format lets them choose, as most Chinese-language feeds do.
CHINA_TIME = timezone(timedelta(hours=8))

# The "future" edge case: a feed that dates an item ahead of the clock (a
# scheduled post, a wrong server clock). SPEC.md: such a date becomes the run time.
FUTURE_OFFSET = timedelta(days=2)

# A <p> longer than this is wrapped over two lines in the CDATA feed, as
# hand-edited CMS output often is; "joined with nothing" must not lose text.
WRAP_PARAGRAPH_AT = 60


@dataclass(frozen=True)
class DemoFeed:
    """One feed of the demo, ready to be served at ``path``."""

    slug: str  # e.g. "tianqi"
    name: str  # the Chinese source name, e.g. "晨光天气台"
    path: str  # the URL path it is served at, e.g. "/feeds/tianqi.xml"
    body: bytes
    content_type: str  # e.g. "application/rss+xml; charset=utf-8"


@dataclass(frozen=True)
class _Story:
    """One article as written here, before it is dated and rendered."""

    title: str
    lead: str  # the first paragraph, written for this story alone
    categories: tuple[str, ...]
    author: str
    extra: tuple[str, ...] = ()  # HTML blocks that follow the lead: an image, code, ...


@dataclass(frozen=True)
class _Desk:
    """An imaginary outlet: its stories and the sentence pools bodies are composed from."""

    slug: str
    name: str
    home: str  # its home page URL
    description: str
    language: str
    link_template: str  # the article URL, from ``{key}``
    first_key: int  # story j has the key first_key + j
    stories: tuple[_Story, ...]
    sentences: tuple[str, ...]  # at least _MIN_SENTENCES; see _compose
    headings: tuple[str, ...]
    quote: str  # with its quotation marks
    bullets: tuple[str, ...]


@dataclass(frozen=True)
class _Item:
    """A story made concrete for one ``now``: key, link, dates, HTML blocks."""

    index: int  # the story's place in its desk, from 0
    key: str
    link: str
    story: _Story
    published_at: datetime | None
    updated_at: datetime | None
    blocks: tuple[str, ...]

    @property
    def html(self) -> str:
        return "\n".join(self.blocks)


# Story numbers in the edge-case comments below count from 1, as in the docstring.

_TIANQI = _Desk(
    slug="tianqi",
    name="晨光天气台",
    home="https://tianqi.example.org/",
    description="晨光天气台：每日预报、观测手记与气象小课堂",
    language="zh-CN",
    link_template="https://tianqi.example.org/news/{key}.html",
    first_key=2101,
    stories=(
        _Story(
            "本周末晴到多云，早晚温差接近十度",
            "受高压系统控制，本周六、周日本市以晴到多云天气为主，白天最高气温二十三度左右，"
            "清晨最低气温只有十四度。",
            ("天气预报",),
            "晨光天气台值班预报员",
        ),
        _Story(
            "城东观测场迎来今年第一场“雾凇”",
            "今晨六时，城东观测场的草叶和栏杆上结出一层细密的白色冰晶，值班观测员在记录簿上"
            "写下了“雾凇，薄”。",
            ("观测手记", "天气预报"),
            "晨光天气台观测组",
            # A relative image URL: the clean stage must make it absolute.
            (
                (
                    '<figure>\n<img src="/images/2026/rime-east-field.jpg" '
                    'alt="城东观测场的雾凇">\n'
                    "<figcaption>清晨的观测场栏杆（本台观测组摄）</figcaption>\n</figure>"
                ),
            ),
        ),
        _Story(
            "气象小课堂：为什么雨后的空气闻起来有股泥土味？",
            "不少读者来信问，为什么一场小雨过后，窗外会飘来一股特别的泥土气息。这期小课堂就来"
            "聊聊这种味道的来历。",
            ("气象科普",),
            "气象科普编辑",
        ),
        _Story(
            "大风蓝色预警解除，明天起气温逐步回升",
            "随着冷空气东移减弱，昨天发布的大风蓝色预警已于今天下午四时解除，未来三天风力逐渐"
            "减小到三级以下。",
            ("预警提示", "天气预报"),
            "晨光天气台值班预报员",
        ),
        _Story(
            "《观测日志》第十二期：一支温度计的一天",
            "这一期《观测日志》换个角度，跟着观测场百叶箱里的一支温度计，看看它从清晨到深夜都"
            "经历了什么。",
            ("观测手记",),
            "晨光天气台观测组",
            # Raw "]]>" in HTML text (legal HTML): the CDATA section has to be split.
            (
                (
                    "<p>记录表里的报警条件写作 T[d[0]]>30，意思是当天第一个读数超过三十度时，"
                    "这一格就会自动标红。</p>"
                ),
            ),
        ),
        _Story(
            "夜间有轻雾，早高峰出行请留意能见度",
            "预计今天夜间到明天早晨，沿江和低洼地带有轻雾，局部能见度不足一公里，开车出行请"
            "打开雾灯、放慢车速。",
            ("预警提示",),
            "晨光天气台值班预报员",
        ),
        _Story(
            "春季花粉指数栏目上线（试运行）",
            "从本周起，本台网站增设花粉指数栏目，每天上午九点更新，目前处于试运行阶段，欢迎"
            "读者反馈。",
            ("气象科普", "本台消息"),
            "气象科普编辑",
        ),
        # Edge case: an item with no date (a standing notice). It gets the time it
        # was first seen (SPEC.md, parse).
        _Story(
            "订阅说明：每日预报在清晨六点更新",
            "本台每日预报在清晨六点更新，订阅源会同步推送；节假日期间更新时间不变。",
            ("本台消息",),
            "晨光天气台编辑部",
        ),
    ),
    sentences=(
        "观测员提醒，早晚温差较大，外出时最好多带一件薄外套。",
        "本台的自动站每十分钟记录一次气温、湿度和风速，数据会在网站上同步公布。",
        "这种天气对晾晒衣物十分有利，但也要注意防晒。",
        "郊区山地的气温通常比市区低两到三度，登山的朋友请提前做好准备。",
        "如果预报临时调整，预报员会第一时间更新页面，并在订阅源中说明。",
        "从卫星云图上看，一条云带正缓慢向东南方向移动。",
        "空气湿度回升之后，体感会比实际气温更温和一些。",
        "观测场的草面温度往往比百叶箱里的读数低不少，这是地面辐射降温的结果。",
        # A line break between two English words: it must become a space.
        "值班室的英文简报叫作“Morning\nForecast Notes”，每天和中文版一同发布。",
        "有晨练习惯的市民，不妨把出门时间稍微推迟半小时。",
        "本台的志愿观测员分布在全市十二个街道，他们的记录是预报的重要参考。",
        "欢迎读者把拍到的天气照片发给我们，入选作品会在每周的图片栏目中展示。",
        "雨量筒的读数显示，过去二十四小时全市平均降水量为三点二毫米。",
        "气温回升的同时，紫外线也在增强，中午前后外出请做好防护。",
        "风向转为东南风以后，空气中的水汽会明显增加。",
        "傍晚的云层很薄，说不定能看到一片好看的晚霞。",
    ),
    headings=("未来三天天气", "出行提示", "观测员说", "数据一览"),
    quote="“天空每天都不一样，认真记下来，就是最好的日记。”",
    bullets=(
        "白天：晴到多云，偏北风二到三级",
        "夜间：多云，最低气温十四度",
        "明天：多云转阴，午后有零星小雨",
    ),
)

_KEXUE = _Desk(
    slug="kexue",
    name="星河科学报",
    home="https://kexue.example.org/",
    description="星河科学报科学版：天文、生物与地球科学的日常发现",
    language="zh-CN",
    link_template="https://kexue.example.org/articles/{key}",
    first_key=3201,
    stories=(
        _Story(
            "一颗“迷路”的彗星：它会在下个月回到我们的视野吗？",
            "天文爱好者们最近都在讨论一颗轨道有些特别的彗星。按照观测小组的计算，它有望在下个月"
            "中旬重新变亮。",
            ("天文",),
            "科学版编辑部",
            # An absolute image URL on another (imaginary) host: the image policy decides.
            (
                (
                    '<figure>\n<img src="https://img.example.org/kexue/comet-tail.jpg" '
                    'alt="彗星的尾巴">\n<figcaption>示意图：彗尾总是背向太阳</figcaption>\n</figure>'
                ),
            ),
        ),
        _Story(
            "校园池塘里的小生物：一滴水中有多少个“邻居”",
            "我们从校园池塘舀起一滴水放在显微镜下，竟然数出了十几种形态各异的微小生物。",
            ("生物",),
            "本报见习记者",
        ),
        # Edge case: this entry is listed twice in the feed (same id, same content).
        _Story(
            "问与答（Q&A）：月亮为什么总是同一面朝向地球？",
            "这是本周收到最多的一个问题。答案和一种叫作“潮汐锁定”的现象有关。",
            ("天文", "科学问答"),
            "读者来信组",
        ),
        _Story(
            "苔藓能当“空气质量监测员”吗？",
            "苔藓没有真正的根，水分和养分主要从空气和雨水中获得，因此对环境变化格外敏感。",
            ("生物", "地球科学"),
            "本报见习记者",
        ),
        _Story(
            "《星空漫步》专栏：冬季夜空中最容易找到的三个星座",
            "冬季晴朗的夜晚，即使在城市里，也能比较轻松地认出猎户座、金牛座和双子座。",
            ("天文",),
            "科学版编辑部",
        ),
        _Story(
            "沙丘为何会“唱歌”：一次野外考察的笔记",
            "在某些干燥的沙丘上，沙子滑落时会发出低沉的轰鸣声，本报记者跟随考察队记录了这一现象。",
            ("地球科学",),
            "本报见习记者",
        ),
        _Story(
            "从落叶到泥土：分解者的秘密工作",
            "秋天的落叶去了哪里？土壤里的真菌、细菌和小动物正在悄悄完成一项巨大的工程。",
            ("生物", "地球科学"),
            "科学版编辑部",
        ),
        _Story(
            "读者来信：家里的多肉植物为什么越长越“高”？",
            "一位读者发来照片：她养的多肉植物越长越高，叶片之间的距离也越拉越大。",
            ("科学问答", "生物"),
            "读者来信组",
        ),
    ),
    sentences=(
        "研究人员提醒，这些结论还需要更多观测数据来验证。",
        "用一台普通的双筒望远镜，就能看到不少肉眼难以分辨的细节。",
        "科学的乐趣，往往藏在日常生活最不起眼的地方。",
        "这类现象在教科书里常常只有一句话，实际过程却要复杂得多。",
        "如果你也想亲自观察，可以先从记录时间、地点和天气开始。",
        "本报科学版每周五刊出读者问答，欢迎继续来信提问。",
        "不同季节、不同地点的观察结果可能相差很大，这本身就是有价值的数据。",
        "模拟实验显示，温度和湿度的微小变化都会影响最终结果。",
        "科普志愿者准备了一份简易观察表，可以在本报网站下载。",
        "观察时请注意安全，不要在夜间独自前往偏僻的地方。",
        "很多重要的发现，最初都来自业余爱好者耐心的记录。",
        "显微镜下的世界和星空一样，需要一点耐心才能看清。",
        "研究小组计划在明年春天重复这项观测。",
        "把结果画成一张简单的折线图，规律往往一目了然。",
        "这项观察不需要昂贵的设备，一个周末就能完成。",
    ),
    headings=("它是怎么发生的", "动手试一试", "延伸阅读", "小知识"),
    quote="“好奇心是最好的望远镜。”",
    bullets=(
        "准备一个放大镜或一副双筒望远镜",
        "记下观察的日期、时间和天气",
        "把看到的东西画下来，而不只是拍照",
    ),
)

_SHEQU = _Desk(
    slug="shequ",
    name="青石桥社区通讯",
    home="https://shequ.example.org/",
    description="青石桥社区通讯：活动、通知与邻里故事",
    language="zh-CN",
    # Tracking parameters on the link only (rdf:about stays clean): the store must
    # drop utm_* when it makes the canonical URL.
    link_template="https://shequ.example.org/notice/{key}?utm_source=rss&utm_medium=feed",
    first_key=4301,
    stories=(
        _Story(
            "青石桥菜市场周六恢复早市，摊位重新编号",
            "经过一个月的改造，青石桥菜市场将于本周六恢复早市，营业时间为早上六点到九点，"
            "所有摊位按新编号入场。",
            ("便民服务",),
            "青石桥社区通讯员",
        ),
        _Story(
            "社区夜校开课啦：书法、摄影、手机使用三门课任选",
            "社区夜校本学期开设书法、摄影和手机使用三门课程，每周二、四晚上七点上课，报名截止到"
            "月底。",
            ("社区活动",),
            "社区服务中心",
        ),
        # Edge case: a title that looks like a path ("../"); it must never make a
        # file outside the archive folder.
        _Story(
            "../../旧馆？社区图书角搬进河畔新址",
            "原来设在活动室二楼的社区图书角已经搬到河畔新址，门口的旧路牌上还留着一行手写的"
            "“../旧馆”，成了居民们的笑谈。",
            ("通知公告", "邻里故事"),
            "青石桥社区通讯员",
        ),
        _Story(
            "邻里故事：三号楼的“共享工具箱”",
            "三号楼一楼的楼道里多了一个红色工具箱，锤子、螺丝刀、卷尺一应俱全，谁家需要都可以"
            "借用。",
            ("邻里故事",),
            "志愿者小组",
        ),
        _Story(
            "停水通知：本周三上午九点至十二点",
            "因管道检修，本周三上午九点至十二点，青石桥社区一至六号楼将暂停供水，请居民提前储水。",
            ("通知公告", "便民服务"),
            "社区服务中心",
        ),
        _Story(
            "“小小讲解员”招募：带着邻居认识老街",
            "社区准备组织一支“小小讲解员”队伍，邀请八到十二岁的孩子带着邻居们走一走老街、"
            "讲一讲老故事。",
            ("社区活动",),
            "志愿者小组",
        ),
        _Story(
            "社区花园秋收日，南瓜、丝瓜和向日葵都熟了",
            "上周六，社区花园举办秋收日活动，居民们一起采摘了亲手种下的南瓜、丝瓜和向日葵。",
            ("社区活动", "邻里故事"),
            "青石桥社区通讯员",
        ),
        _Story(
            "楼道灯更换完毕，欢迎居民反馈（附报修方式）",
            "社区服务中心完成了全部楼道灯的更换工作，新灯具采用声控加光控，夜间更亮也更省电。",
            ("便民服务", "通知公告"),
            "社区服务中心",
            # A relative link: the clean stage must make it absolute.
            ('<p>灯具如有故障，请查看<a href="/service/repair">便民报修页面</a>。</p>',),
        ),
    ),
    sentences=(
        "活动免费参加，名额有限，请到社区服务中心登记。",
        "如有疑问，可以在工作日到服务中心一楼咨询台询问。",
        "志愿者们提前一周就开始准备，把场地布置得井井有条。",
        "行动不便的老人可以请楼长代为登记。",
        "社区通讯每周一期，往期内容可以在公告栏和网站上查看。",
        "不少居民表示，希望这样的活动今后能多办几次。",
        "请大家爱护公共设施，用完后放回原处。",
        "活动当天如遇下雨，将改到社区活动室进行。",
        "服务中心的工作人员会在现场提供帮助。",
        "孩子们参加活动时，请家长陪同。",
        "邻里之间多打个招呼，社区就多一分温暖。",
        "欢迎居民把建议写在意见簿上，我们每周都会整理回复。",
        "附近的公交站点和停车位安排不变。",
        "有意参与志愿服务的居民，可以加入社区的志愿者小组。",
    ),
    headings=("时间和地点", "怎么报名", "居民说", "温馨提示"),
    quote="“以前借把锤子要敲好几家的门，现在下楼就能拿到。”",
    bullets=("时间：周六上午九点", "地点：社区活动室", "携带：身份证或居住证"),
)

_JISHU_CODE = (
    "<pre><code>for f in *.jpg; do\n"
    '  d=$(date -r "$f" +%Y-%m-%d)\n'
    '  mv -n -- "$f" "${d}_$f"\n'
    "done\n"
    'echo "完成" &amp;&amp; ls | head</code></pre>'
)

_JISHU = _Desk(
    slug="jishu",
    name="小码农技术札记",
    home="https://jishu.example.org/",
    description="小码农技术札记：命令行、备份和家用小工具的折腾笔记",
    language="zh-CN",
    link_template="https://jishu.example.org/posts/{key}/",
    first_key=5401,
    stories=(
        # Edge case: dated two days after `now` (a scheduled announcement).
        _Story(
            "预告：周末线上分享会“整理十年的家庭照片”",
            "本周六晚上八点，札记将举办一次线上分享会，聊聊怎样把散落在各处的家庭照片整理成一个"
            "有序的相册。",
            ("预告", "备份"),
            "小码农",
        ),
        # Edge case: ASCII characters that break naive file names and YAML.
        _Story(
            '备份笔记 #3: 把 "C:\\照片" 同步到 /srv/相册 [实测]',
            "这是备份系列的第三篇。这次要解决的问题是：把 Windows 电脑上的照片文件夹定期同步到"
            "家里的小服务器上。",
            ("备份", "命令行"),
            "小码农",
        ),
        _Story(
            "用五行 Shell 脚本给照片按日期重命名",
            "手机导出的照片文件名五花八门，其实只要几行脚本，就能按照拍摄日期统一重命名。",
            ("命令行", "备份"),
            "小码农",
            # The one <pre>: its line breaks and indentation must survive publishing.
            (_JISHU_CODE,),
        ),
        _Story(
            "家用路由器的日志里都记了些什么？",
            "出于好奇，我打开了家里路由器的系统日志，发现里面记录的东西比想象中多得多。",
            ("网络",),
            "小码农",
        ),
        _Story(
            "《命令行小技巧》之一：历史记录搜索",
            "在终端里按下 Ctrl+R，就能搜索输入过的历史命令，这是我每天用得最多的快捷键之一。",
            ("命令行",),
            "札记编辑部",
        ),
        _Story(
            "给老笔记本装上轻量桌面：一周使用体验",
            "一台用了八年的笔记本，换上轻量桌面环境之后，开机时间从两分钟缩短到了四十秒。",
            ("工具",),
            "小码农",
        ),
        _Story(
            "写给新手：什么是“时间戳”？",
            "时间戳就是从某个固定起点开始数过的秒数，计算机用它来记录“现在是什么时候”。",
            ("入门",),
            "札记编辑部",
        ),
        _Story(
            "周末折腾记：用旧手机做一个室内温度计",
            "家里有一部闲置的旧手机，加上一个小小的温度传感器，就能变成一个会画曲线的室内温度计。",
            ("工具", "入门"),
            "小码农",
        ),
    ),
    sentences=(
        "以上操作都在自己的设备上完成，不涉及任何外部服务。",
        "动手之前，记得先把重要文件备份一份。",
        "命令看起来有点长，但拆开来每一部分都很好理解。",
        "如果你用的是其他系统，思路是一样的，只是工具名称略有不同。",
        "遇到问题时，先看一眼日志，往往能省下很多时间。",
        "这篇笔记会随着实践不断补充，欢迎留言交流。",
        "我习惯把常用的命令写进一个小脚本里，免得每次都重新查。",
        "工具不在多，顺手最重要。",
        "测试环境是一台普通的家用电脑，配置并不高。",
        "设置完成后，系统每天凌晨会自动执行一次。",
        "新手可以先在一个测试文件夹里练习，确认无误再处理真实数据。",
        "有读者问能不能用图形界面操作，答案是可以，但命令行更容易重复。",
        # A line break between two English words: it must become a space.
        "文档里把这个选项叫作“dry\nrun”，也就是只演示、不真正执行。",
        "改完配置别忘了重启一下服务，再确认一遍结果。",
    ),
    headings=("准备工作", "具体步骤", "踩过的坑", "小结"),
    quote="“能自动完成的事，就别每次都手动去做。”",
    bullets=("一台闲置的电脑", "一个顺手的文本编辑器", "半个小时的耐心"),
)

# Traditional Chinese, published in Big5: every character must exist in Big5
# (demo_feeds encodes strictly, so a stray one fails loudly). Several, such as
# 許 and 功, have 0x5C ("\") as their second byte.
_SHUFANG = _Desk(
    slug="shufang",
    name="雲山書房",
    home="https://shufang.example.org/",
    description="雲山書房：新書介紹、讀書會與書房日常",
    language="zh-TW",
    link_template="https://shufang.example.org/column/{key}.html",
    first_key=6501,
    stories=(
        _Story(
            "本月讀書會選書：《霧中的燈塔》",
            "本月讀書會選讀的是小說《霧中的燈塔》，故事講述一位守燈人在海島上度過的十二個冬天。",
            ("讀書會", "新書介紹"),
            "雲山書房編輯室",
        ),
        _Story(
            "書房日常：一隻貓和三千本舊書",
            "書房裡住著一隻名叫「墨墨」的橘貓，牠最喜歡睡在詩集那一排書架的最上層。",
            ("書房日常",),
            "書房店員",
        ),
        _Story(
            "秋日詩歌朗讀夜，歡迎帶上你最喜歡的一首詩",
            "本週五晚上七點半，書房將舉辦秋日詩歌朗讀夜，不論新詩舊詩，都歡迎上台朗讀。",
            ("藝文活動",),
            "雲山書房編輯室",
        ),
        _Story(
            "《紙上山水》讀後：在畫卷裡散步",
            "這本畫冊把一幅長卷拆成了八十頁，翻著翻著，就像沿著山路慢慢走進畫裡。",
            ("新書介紹",),
            "書房店員",
        ),
        _Story(
            "二手書如何分級？店員的十個小祕訣",
            "每天都有讀者送來舊書，店員會先檢查書況，再依照品相分成四個等級。",
            ("書房日常",),
            "書房店員",
        ),
        # Edge case: no <link>; the guid is a permalink (isPermaLink defaults to
        # true, RSS 2.0 spec), so the link falls back to it.
        _Story(
            "手寫書籤工作坊報名開始",
            "手寫書籤工作坊將在下個月第一個週日舉行，材料由書房準備，名額二十位。",
            ("藝文活動",),
            "雲山書房編輯室",
        ),
        _Story(
            "冷門好書推薦：關於雲的一本小百科",
            "這本小百科介紹了幾十種雲的名字和形狀，插圖清新，適合放在窗邊隨手翻閱。",
            ("新書介紹",),
            "書房店員",
        ),
        _Story(
            "書房搬遷一週年，感謝每一位讀者",
            "一年前的今天，書房從老街巷口搬到了現在的二樓，感謝讀者們一路相伴。",
            ("書房日常",),
            "雲山書房編輯室",
        ),
    ),
    sentences=(
        "活動免費入場，座位有限，建議提前到場。",
        "書房的營業時間為每天中午十二點到晚上九點，週一公休。",
        "歡迎讀者在留言簿寫下自己的閱讀心得。",
        "店員會在書架旁放上手寫的推薦卡片。",
        "如果你也有想分享的書，歡迎在活動中與大家交流。",
        "窗邊的位子總是最早坐滿，午後的陽光剛好落在書頁上。",
        "部分舊書因為數量稀少，只提供店內閱讀。",
        "讀書會每月一次，不需要事先讀完整本書。",
        "許多讀者說，在這裡翻書比在家裡更能靜下心來。",
        "本期選書可在櫃檯預訂，到貨後會以電話通知。",
        "活動當天提供熱茶，請自備水杯。",
        "我們也接受舊書捐贈，整理後會放到「好書交換」書架上。",
        "書房的功能不只是賣書，更是一個讓人停下腳步的地方。",
        "雨天的午後，書房裡總是特別安靜。",
    ),
    headings=("活動資訊", "店員推薦", "讀者回饋", "延伸閱讀"),
    quote="「一本書的旅程，從被翻開的那一刻才真正開始。」",
    bullets=("時間：週五晚上七點半", "地點：雲山書房二樓", "費用：免費，請自備水杯"),
)

_DESKS: tuple[_Desk, ...] = (_TIANQI, _KEXUE, _SHEQU, _JISHU, _SHUFANG)

# The edge cases, as (desk, story index from 0).
_UNDATED = ("tianqi", 7)
_LINKLESS = ("shufang", 5)
_LISTED_TWICE = ("kexue", 2)
_FUTURE = ("jishu", 0)

# _compose picks sentences at offsets 3..16 of a window; 14 distinct ones keep
# a sentence from appearing twice in one article.
_MIN_SENTENCES = 14
_UNDATED_SORTS_AS = datetime.min.replace(tzinfo=UTC)

DEMO_ARTICLE_COUNT: int = sum(len(desk.stories) for desk in _DESKS)


# The demo's two pictures: where the feeds point at them, and their colours.
_IMAGES = {
    "/images/2026/rime-east-field.jpg": ((40, 90, 160), (220, 235, 250)),
    "/img/kexue/comet-tail.jpg": ((10, 10, 40), (240, 200, 80)),
}
# Served path → how the feed refers to it without ``image_base``.
_IMAGE_ORIGINALS = {
    "/images/2026/rime-east-field.jpg": '"/images/2026/rime-east-field.jpg"',  # relative
    "/img/kexue/comet-tail.jpg": '"https://img.example.org/kexue/comet-tail.jpg"',
}


def demo_images() -> dict[str, bytes]:
    """URL path → PNG bytes of the pictures ``demo_feeds(now, image_base=…)`` points at."""
    return {path: gradient_png(64, 40, *colours) for path, colours in _IMAGES.items()}


def gradient_png(
    width: int, height: int, top: tuple[int, int, int], bottom: tuple[int, int, int]
) -> bytes:
    """A small PNG fading from ``top`` to ``bottom``, made by hand (no imaging library)."""
    rows = []
    for y in range(height):
        mix = y / max(height - 1, 1)
        colour = bytes(round(a + (b - a) * mix) for a, b in zip(top, bottom, strict=True))
        rows.append(b"\x00" + colour * width)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def demo_feeds(now: datetime, *, image_base: str | None = None) -> tuple[DemoFeed, ...]:
    """The demo's five feeds, with articles dated over the ten days before ``now``.

    ``now`` must be timezone-aware; it is taken to the second, so the same
    ``now`` always gives the same bytes. With ``image_base`` (e.g. the demo
    server's ``http://127.0.0.1:PORT``) the two pictures point there, so that
    the demo can mirror them without leaving the machine.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("demo_feeds needs a timezone-aware datetime")
    now = now.astimezone(UTC).replace(microsecond=0)
    feeds = _feeds(now)
    if image_base is None:
        return feeds
    moved = []
    for feed in feeds:
        body = feed.body
        for path, original in _IMAGE_ORIGINALS.items():
            served = f'"{image_base.rstrip("/")}{path}"'
            body = body.replace(original.encode(), served.encode())
        moved.append(DemoFeed(feed.slug, feed.name, feed.path, body, feed.content_type))
    return tuple(moved)


def _feeds(now: datetime) -> tuple[DemoFeed, ...]:
    return (
        DemoFeed(
            _TIANQI.slug,
            _TIANQI.name,
            "/feeds/tianqi.xml",
            _rss2_content_encoded(_TIANQI, _items(_TIANQI, 0, now), now),
            "application/rss+xml; charset=utf-8",
        ),
        DemoFeed(
            _KEXUE.slug,
            _KEXUE.name,
            "/feeds/kexue.xml",
            _atom(_KEXUE, _items(_KEXUE, 1, now), now),
            "application/atom+xml; charset=utf-8",
        ),
        DemoFeed(
            _SHEQU.slug,
            _SHEQU.name,
            "/feeds/shequ.rdf",
            _rss1(_SHEQU, _items(_SHEQU, 2, now), now),
            "application/rdf+xml; charset=utf-8",
        ),
        DemoFeed(
            _JISHU.slug,
            _JISHU.name,
            "/feeds/jishu.json",
            _json_feed(_JISHU, _items(_JISHU, 3, now)),
            "application/feed+json; charset=utf-8",
        ),
        DemoFeed(
            _SHUFANG.slug,
            _SHUFANG.name,
            "/feeds/shufang.xml",
            _rss2_big5(_SHUFANG, _items(_SHUFANG, 4, now), now),
            "application/rss+xml; charset=Big5",
        ),
    )


# --- composing ----------------------------------------------------------------


def _items(desk: _Desk, desk_index: int, now: datetime) -> tuple[_Item, ...]:
    """The desk's stories dated and composed, in feed order (newest first)."""
    if len(desk.sentences) < _MIN_SENTENCES:
        raise ValueError(f"{desk.slug}: fewer than {_MIN_SENTENCES} sentences")
    items: list[_Item] = []
    for index, story in enumerate(desk.stories):
        where = (desk.slug, index)
        key = str(desk.first_key + index)
        published_at: datetime | None
        if where == _UNDATED:
            published_at = None
        elif where == _FUTURE:
            published_at = now + FUTURE_OFFSET
        else:
            # Fixed offsets: story 0 is 3-7 hours old, story 7 about nine days.
            published_at = now - timedelta(
                hours=3 + 29 * index + 5 * desk_index,
                minutes=(17 * index + 11 * desk_index) % 60,
            )
        updated_at = None
        if published_at is not None and published_at < now:
            updated_at = published_at + timedelta(minutes=45 * (index % 3))
        items.append(
            _Item(
                index=index,
                key=key,
                link=desk.link_template.format(key=key),
                story=story,
                published_at=published_at,
                updated_at=updated_at,
                blocks=_compose(desk, desk_index, index, story),
            )
        )
    # Newest first, as feeds list them; the undated item goes last.
    items.sort(key=lambda item: item.published_at or _UNDATED_SORTS_AS, reverse=True)
    # A feed that re-lists an entry, as some CMSs do after an edit to a pinned post.
    twice = [item for item in items if (desk.slug, item.index) == _LISTED_TWICE]
    return tuple(items + twice)


def _compose(desk: _Desk, desk_index: int, index: int, story: _Story) -> tuple[str, ...]:
    """The article's HTML blocks: the lead, the story's extras, then pooled paragraphs.

    Between 2 and 6 top-level ``<p>`` in all; some articles get an ``<h2>``, a
    ``<blockquote>`` or a ``<ul>``. Everything is chosen by arithmetic on the
    indices, never by chance.
    """
    blocks = [f"<p>{story.lead}</p>", *story.extra]
    paragraphs = 2 + (3 * index + desk_index) % 5
    paragraphs -= 1 + sum(block.startswith("<p>") for block in story.extra)
    pool = desk.sentences
    for k in range(1, max(paragraphs, 0) + 1):
        if k == 1 and index % 3 == 0:
            blocks.append(f"<h2>{desk.headings[(index + desk_index) % len(desk.headings)]}</h2>")
        first = (index * 5 + k * 3) % len(pool)
        blocks.append(f"<p>{pool[first]}{pool[(first + 1) % len(pool)]}</p>")
        if k == 1 and index % 4 == 1:
            blocks.append(f"<blockquote>\n<p>{desk.quote}</p>\n</blockquote>")
        if k == 1 and index % 4 == 2:
            items = "\n".join(f"<li>{bullet}</li>" for bullet in desk.bullets)
            blocks.append(f"<ul>\n{items}\n</ul>")
    return tuple(blocks)


# --- rendering ----------------------------------------------------------------

_XML_DECLARATION = '<?xml version="1.0" encoding="{encoding}"?>\n'


def _text(value: str) -> str:
    """XML character data."""
    return escape(value)


def _attr(value: str) -> str:
    """An XML attribute value, quotes included."""
    return quoteattr(value)


def _cdata(value: str) -> str:
    """A CDATA section; "]]>" cannot occur inside one, so it is split across two."""
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _rfc822(moment: datetime, zone: timezone) -> str:
    """An RFC 822 (RFC 2822 §3.3) date, as RSS 2.0 wants in pubDate."""
    return email.utils.format_datetime(moment.astimezone(zone), usegmt=zone is UTC)


def _rfc3339(moment: datetime) -> str:
    """An RFC 3339 date in UTC, as Atom wants."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _indented_html(blocks: tuple[str, ...], indent: str) -> str:
    """HTML over indented lines, the way many CMSs write content:encoded.

    Long paragraphs are wrapped after a comma; ``<pre>`` keeps its lines as they are.
    """
    lines: list[str] = []
    for block in blocks:
        if block.startswith("<pre"):
            lines.append(indent + block)
            continue
        if block.startswith("<p>") and len(block) > WRAP_PARAGRAPH_AT and "\n" not in block:
            cut = block.find("，", 20)
            if cut != -1:
                block = block[: cut + 1] + "\n" + block[cut + 1 :]
        lines.append(indent + block.replace("\n", "\n" + indent))
    return "\n".join(lines)


def _rss2_content_encoded(desk: _Desk, items: tuple[_Item, ...], now: datetime) -> bytes:
    """RSS 2.0 (https://www.rssboard.org/rss-specification) with content:encoded in CDATA."""
    out = [
        _XML_DECLARATION.format(encoding="UTF-8"),
        (
            '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
            ' xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        ),
        "  <channel>\n",
        f"    <title>{_text(desk.name)}</title>\n",
        f"    <link>{_text(desk.home)}</link>\n",
        f"    <description>{_text(desk.description)}</description>\n",
        f"    <language>{desk.language}</language>\n",
        f"    <lastBuildDate>{_rfc822(now, CHINA_TIME)}</lastBuildDate>\n",
    ]
    for item in items:
        out.append("    <item>\n")
        out.append(f"      <title>{_text(item.story.title)}</title>\n")
        out.append(f"      <link>{_text(item.link)}</link>\n")
        out.append(f'      <guid isPermaLink="false">{desk.slug}-{item.key}</guid>\n')
        if item.published_at is not None:
            out.append(f"      <pubDate>{_rfc822(item.published_at, CHINA_TIME)}</pubDate>\n")
        out.append(f"      <dc:creator>{_text(item.story.author)}</dc:creator>\n")
        for category in item.story.categories:
            out.append(f"      <category>{_text(category)}</category>\n")
        out.append(f"      <description>{_text(item.story.lead)}</description>\n")
        body = "\n" + _indented_html(item.blocks, " " * 8) + "\n      "
        out.append(f"      <content:encoded>{_cdata(body)}</content:encoded>\n")
        out.append("    </item>\n")
    out.append("  </channel>\n</rss>\n")
    return "".join(out).encode("utf-8")


def _atom(desk: _Desk, items: tuple[_Item, ...], now: datetime) -> bytes:
    """Atom 1.0 (RFC 4287) with entity-escaped ``<content type="html">``."""
    out = [
        _XML_DECLARATION.format(encoding="utf-8"),
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="zh-CN">\n',
        f"  <title>{_text(desk.name)}</title>\n",
        f"  <subtitle>{_text(desk.description)}</subtitle>\n",
        f'  <link rel="alternate" type="text/html" href={_attr(desk.home)}/>\n',
        f"  <id>{_text(desk.home)}</id>\n",
        f"  <updated>{_rfc3339(now)}</updated>\n",
        f"  <author><name>{_text(desk.name)}</name></author>\n",
    ]
    for item in items:
        out.append("  <entry>\n")
        out.append(f'    <title type="text">{_text(item.story.title)}</title>\n')
        out.append(f'    <link rel="alternate" type="text/html" href={_attr(item.link)}/>\n')
        out.append(f"    <id>tag:{desk.slug}.example.org,2026:{item.key}</id>\n")
        if item.published_at is not None:
            out.append(f"    <published>{_rfc3339(item.published_at)}</published>\n")
        # <updated> is required (RFC 4287 §4.1.2); an undated story takes the feed's.
        updated_at = item.updated_at or item.published_at or now
        out.append(f"    <updated>{_rfc3339(updated_at)}</updated>\n")
        out.append(f"    <author><name>{_text(item.story.author)}</name></author>\n")
        for category in item.story.categories:
            out.append(f"    <category term={_attr(category)}/>\n")
        out.append(f'    <summary type="text">{_text(item.story.lead)}</summary>\n')
        out.append(f'    <content type="html">{_text(item.html)}</content>\n')
        out.append("  </entry>\n")
    out.append("</feed>\n")
    return "".join(out).encode("utf-8")


def _rss1(desk: _Desk, items: tuple[_Item, ...], now: datetime) -> bytes:
    """RSS 1.0 (https://web.resource.org/rss/1.0/spec): RDF, dc:date, HTML in description."""
    about = [item.link.split("?", 1)[0] for item in items]
    out = [
        _XML_DECLARATION.format(encoding="utf-8"),
        (
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
            ' xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        ),
        f"  <channel rdf:about={_attr(desk.home)}>\n",
        f"    <title>{_text(desk.name)}</title>\n",
        f"    <link>{_text(desk.home)}</link>\n",
        f"    <description>{_text(desk.description)}</description>\n",
        f"    <dc:language>{desk.language}</dc:language>\n",
        f"    <dc:date>{now.astimezone(CHINA_TIME).isoformat()}</dc:date>\n",
        "    <items>\n      <rdf:Seq>\n",
        *(f"        <rdf:li rdf:resource={_attr(resource)}/>\n" for resource in about),
        "      </rdf:Seq>\n    </items>\n",
        "  </channel>\n",
    ]
    for item, resource in zip(items, about, strict=True):
        out.append(f"  <item rdf:about={_attr(resource)}>\n")
        out.append(f"    <title>{_text(item.story.title)}</title>\n")
        out.append(f"    <link>{_text(item.link)}</link>\n")
        out.append(f"    <description>{_text(item.html)}</description>\n")
        if item.published_at is not None:
            out.append(
                f"    <dc:date>{item.published_at.astimezone(CHINA_TIME).isoformat()}</dc:date>\n"
            )
        out.append(f"    <dc:creator>{_text(item.story.author)}</dc:creator>\n")
        for category in item.story.categories:
            out.append(f"    <dc:subject>{_text(category)}</dc:subject>\n")
        out.append("  </item>\n")
    out.append("</rdf:RDF>\n")
    return "".join(out).encode("utf-8")


def _json_feed(desk: _Desk, items: tuple[_Item, ...]) -> bytes:
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1)."""
    entries: list[dict[str, Any]] = []
    for item in items:
        entry: dict[str, Any] = {
            "id": item.link,
            "url": item.link,
            "title": item.story.title,
            "summary": item.story.lead,
            "content_html": item.html,
        }
        if item.published_at is not None:
            entry["date_published"] = item.published_at.astimezone(CHINA_TIME).isoformat()
        if item.updated_at is not None and item.updated_at != item.published_at:
            entry["date_modified"] = item.updated_at.astimezone(CHINA_TIME).isoformat()
        entry["authors"] = [{"name": item.story.author}]
        entry["tags"] = list(item.story.categories)
        entries.append(entry)
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": desk.name,
        "home_page_url": desk.home,
        "description": desk.description,
        "language": desk.language,
        "authors": [{"name": desk.name}],
        "items": entries,
    }
    return (json.dumps(feed, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _rss2_big5(desk: _Desk, items: tuple[_Item, ...], now: datetime) -> bytes:
    """RSS 2.0 in Big5, HTML entity-escaped in description, dates in GMT."""
    out = [
        _XML_DECLARATION.format(encoding="Big5"),
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">\n',
        "<channel>\n",
        f"<title>{_text(desk.name)}</title>\n",
        f"<link>{_text(desk.home)}</link>\n",
        f"<description>{_text(desk.description)}</description>\n",
        f"<language>{desk.language}</language>\n",
        f"<pubDate>{_rfc822(now, UTC)}</pubDate>\n",
    ]
    for item in items:
        out.append("<item>\n")
        out.append(f"<title>{_text(item.story.title)}</title>\n")
        if (desk.slug, item.index) == _LINKLESS:
            out.append(f"<guid>{_text(item.link)}</guid>\n")
        else:
            out.append(f"<link>{_text(item.link)}</link>\n")
            out.append(f'<guid isPermaLink="false">{desk.slug}:{item.key}</guid>\n')
        if item.published_at is not None:
            out.append(f"<pubDate>{_rfc822(item.published_at, UTC)}</pubDate>\n")
        out.append(f"<dc:creator>{_text(item.story.author)}</dc:creator>\n")
        for category in item.story.categories:
            out.append(f"<category>{_text(category)}</category>\n")
        out.append(f"<description>{_text(item.html)}</description>\n")
        out.append("</item>\n")
    out.append("</channel>\n</rss>\n")
    # Strict: a character Big5 lacks is a bug here, not something to replace with "?".
    return "".join(out).encode("big5")
