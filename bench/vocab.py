"""Word and phrase pools for the benchmark data generator.

Everything here is plain data (tuples, never sets, so iteration order and
therefore the generated records are the same on every run). ``{topic}``,
``{subject}``, ``{theme}``, ``{school}`` and ``{n}`` are filled in by
``bench.generate``.
"""

from __future__ import annotations

from dataclasses import dataclass

CN_NUMBERS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十")

# --- lesson plans: titles ----------------------------------------------------

POEMS = (
    "《静夜思》", "《春晓》", "《咏鹅》", "《登鹳雀楼》", "《望庐山瀑布》", "《赠汪伦》",
    "《悯农》", "《村居》", "《咏柳》", "《游子吟》", "《江雪》", "《所见》", "《小池》",
    "《望天门山》", "《饮湖上初晴后雨》", "《山行》", "《枫桥夜泊》", "《池上》", "《画》",
    "《寻隐者不遇》", "《绝句》", "《夜宿山寺》", "《敕勒歌》", "《望洞庭》", "《出塞》",
    "《凉州词》", "《示儿》", "《题西林壁》", "《元日》", "《清明》",
    "《九月九日忆山东兄弟》", "《石灰吟》", "《竹石》", "《七律·长征》", "《泊船瓜洲》",
    "《送元二使安西》", "《黄鹤楼送孟浩然之广陵》", "《早发白帝城》", "《独坐敬亭山》",
    "《忆江南》",
)

TEXTS = (
    "《小蝌蚪找妈妈》", "《乌鸦喝水》", "《坐井观天》", "《司马光》", "《雪地里的小画家》",
    "《曹冲称象》", "《找春天》", "《植物妈妈有办法》", "《秋天的雨》", "《狐假虎威》",
    "《守株待兔》", "《草船借箭》", "《桂花雨》", "《落花生》", "《少年闰土》",
    "《慈母情深》", "《小壁虎借尾巴》", "《青蛙写诗》", "《荷叶圆圆》", "《要下雨了》",
    "《动物王国开大会》", "《猫》", "《白鹅》", "《海底世界》", "《富饶的西沙群岛》",
    "《美丽的小兴安岭》", "《爬山虎的脚》", "《蟋蟀的住宅》", "《观潮》", "《麻雀》",
    "《盘古开天地》", "《精卫填海》", "《普罗米修斯》", "《女娲补天》", "《将相和》",
    "《景阳冈》", "《红楼春趣》", "《圆明园的毁灭》", "《狼牙山五壮士》", "《开国大典》",
    "《丁香结》", "《草原》", "《北京的春节》", "《腊八粥》", "《匆匆》", "《那个星期天》",
    "《为人民服务》", "《桥》", "《穷人》", "《月光曲》",
)

LITERACY = (
    "天地人", "金木水火土", "口耳目", "日月水火", "对韵歌", "小书包", "场景歌", "树之歌",
    "拍手歌", "田家四季歌", "神州谣", "传统节日", "中国美食", "姓氏歌", "春夏秋冬",
)

ORAL = (
    "我说你做", "用多大的声音", "小兔运南瓜", "有趣的动物", "做手工", "注意说话的语气",
    "名字里的故事", "劝告", "讲历史人物故事", "请你支持我", "制定班级公约",
)

WRITING = (
    "我的植物朋友", "写日记", "猜猜他是谁", "我来编童话", "我的心爱之物", "推荐一本书",
    "记一次游戏", "我的家乡", "那一刻，我长大了", "家乡的风俗", "多彩的活动", "我的拿手好戏",
)

PINYIN = (
    "a o e", "i u ü", "b p m f", "d t n l", "g k h", "j q x", "z c s", "zh ch sh r",
    "ai ei ui", "ao ou iu", "an en in un ün", "ang eng ing ong",
)

MATH_TOPICS = (
    "认识分数", "分数的初步认识", "分数的简单计算", "小数的加法", "小数的加法和减法",
    "小数的意义", "两位数乘两位数", "除数是一位数的除法", "认识人民币", "认识时间",
    "角的度量", "长方形和正方形的面积", "三角形的内角和", "圆的周长", "圆的面积",
    "平行四边形的面积", "百分数的意义", "比例的意义", "简易方程", "可能性", "鸡兔同笼",
    "位置与方向", "条形统计图", "折线统计图", "年、月、日", "克和千克", "倍的认识",
    "20以内的进位加法", "100以内的加法和减法", "表内乘法", "多边形的面积", "因数与倍数",
    "长方体和正方体", "观察物体", "分数乘法", "分数除法", "认识图形", "10以内数的认识",
    "万以内数的认识", "植树问题", "有理数", "一元一次方程", "全等三角形", "勾股定理",
)

ENGLISH_UNITS = (
    "My School", "My Family", "Colours", "Animals", "At the Farm", "Weather", "My Day",
    "Food and Drinks", "Shopping", "Seasons", "Hobbies", "Clothes", "Numbers", "My Body",
    "Toys", "Jobs", "Ways to Go to School", "Festivals", "Healthy Eating", "Making Plans",
    "My Friends", "In the Classroom", "At the Zoo", "Where Is My Car?", "What's the Matter?",
    "How Tall Are You?", "Last Weekend", "My Favourite Season", "Work Quietly", "Our New Home",
)

PHONICS = (
    "short a", "short e", "short i", "short o", "short u", "a-e", "ee 与 ea", "ar", "or",
    "er ir ur", "oo", "ow", "ai 与 ay", "sh", "ch", "th", "ck", "ng",
)

PICTURE_BOOKS = (
    "The Very Hungry Caterpillar", "Brown Bear, Brown Bear, What Do You See?",
    "Goodnight Moon", "Where's Spot?", "Dear Zoo", "Guess How Much I Love You",
    "We're Going on a Bear Hunt", "The Gingerbread Man", "Biscuit", "Little Cloud",
)

SCIENCE_TOPICS = (
    "植物的一生", "种子的萌发", "水的三态变化", "认识磁铁", "声音的产生", "光的传播",
    "蚕的一生", "空气的性质", "简单电路", "月相变化", "地球的自转", "岩石与土壤",
    "食物链和食物网", "天气日历", "溶解", "杠杆", "热是怎样传递的", "认识温度计",
    "动物的一生", "我们的身体", "测量", "影子的秘密", "太阳系大家庭", "生物与环境",
    "昼夜交替", "植物的根茎叶", "水能溶解一些物质",
)

MORALITY_TOPICS = (
    "我们的班规我们订", "安全记心上", "爱护地球 共同责任", "家乡的变化", "诚实守信",
    "我是小小志愿者", "交通安全要牢记", "感恩父母", "网络安全", "我们的国家",
    "我们小点儿声", "大家排好队", "健康过冬天", "我们当地的风俗", "学会沟通交流",
    "宪法是根本法", "我们的公共生活",
)

MUSIC_TOPICS = (
    "歌曲《小星星》", "欣赏《茉莉花》", "节奏练习", "认识音符", "歌曲《让我们荡起双桨》",
    "竖笛入门", "民歌欣赏", "歌曲《少年少年祖国的春天》", "欣赏《彼得与狼》",
    "打击乐器合奏", "歌曲《卖报歌》", "歌曲《Do-Re-Mi》", "欣赏《龙咚锵》",
)

ART_TOPICS = (
    "线条的魅力", "色彩的冷暖", "剪纸：窗花", "泥塑小动物", "写生：我的家乡", "手工贺卡",
    "水墨画入门", "对称的美", "有趣的脸谱", "漂亮的建筑", "纸盒造型", "我设计的服装",
    "农民画欣赏",
)

PE_TOPICS = (
    "立定跳远", "跳绳", "前滚翻", "50米快速跑", "篮球运球", "广播体操", "足球脚内侧传球",
    "踢毽子", "迎面接力跑", "投掷沙包", "原地侧向投掷垒球", "队列队形练习", "韵律操",
    "排球垫球",
)

IT_TOPICS = (
    "认识计算机", "键盘与指法练习", "画图软件的使用", "汉字输入", "制作幻灯片 PowerPoint",
    "Scratch 编程入门", "网上搜索信息", "文件和文件夹管理", "用 WPS 制作电子小报",
    "认识二维码", "编程小猫走迷宫", "安全使用网络", "Python 初体验", "电子表格 Excel 入门",
)

OTHER_TOPICS = (
    "班会：安全教育", "班会：文明礼仪", "班会：感恩教育", "班会：防溺水", "心理健康：认识情绪",
    "劳动教育：整理书包", "劳动教育：种植小菜园", "劳动教育：包饺子", "综合实践：家乡的茶",
    "综合实践：调查垃圾分类", "综合实践：走进农田", "书法：横画的写法", "书法：竖画的写法",
    "阅读课：《西游记》导读", "阅读课：《草房子》", "阅读课：《夏洛的网》", "阅读课：《昆虫记》",
)

# --- lesson plans: subjects ---------------------------------------------------


@dataclass(frozen=True)
class Subject:
    code: str
    name: str  # as it reads in Chinese text
    weight: int
    # (title pattern, topic pool): the pattern's {t} is the topic, {n} a number.
    titles: tuple[tuple[str, tuple[str, ...]], ...]
    objectives: tuple[str, ...]
    key_points: tuple[str, ...]
    difficulties: tuple[str, ...]
    materials: tuple[str, ...]
    tags: tuple[str, ...]


SUBJECTS = (
    Subject(
        "chinese", "语文", 25,
        (
            ("{t}古诗教学", POEMS), ("古诗二首：{t}", POEMS), ("{t}（第一课时）", TEXTS),
            ("{t}（第二课时）", TEXTS), ("{t}", TEXTS), ("识字{n}：{t}", LITERACY),
            ("口语交际：{t}", ORAL), ("习作：{t}", WRITING), ("汉语拼音 {t}", PINYIN),
        ),
        (
            "能正确、流利、有感情地朗读课文，背诵指定的段落。",
            "会认本课的生字，会写其中的{n}个字，理解由生字组成的词语。",
            "理解{topic}的主要内容，体会作者表达的思想感情。",
            "借助注释和插图理解诗句的意思，想象诗中描绘的画面。",
            "学习作者抓住特点进行描写的方法，并尝试在习作中运用。",
            "积累文中的好词好句，感受汉语言文字的优美。",
            "体会{topic}中蕴含的情感，感受中华优秀传统文化的魅力。",
        ),
        ("正确、流利地朗读课文，理解{topic}的主要内容", "认识并正确书写本课生字",
         "理解重点词句的意思", "背诵并默写{topic}"),
        ("理解诗句的含义，体会诗人的情感", "学习作者的表达方法并运用到习作中",
         "理解含义深刻的句子", "有感情地朗读课文"),
        ("生字卡片", "课文插图", "古诗朗读音频", "田字格黑板贴", "课文录音"),
        ("古诗", "阅读", "识字", "写字", "习作", "口语交际", "朗读", "拼音", "整本书阅读"),
    ),
    Subject(
        "math", "数学", 25,
        (
            ("{t}", MATH_TOPICS), ("{t}（第{n}课时）", MATH_TOPICS), ("{t}练习课", MATH_TOPICS),
            ("整理和复习：{t}", MATH_TOPICS), ("{t}（例{n}）", MATH_TOPICS),
        ),
        (
            "理解{topic}的意义，掌握计算方法，能够正确进行计算。",
            "经历从具体情境中抽象出数学问题的过程，发展数感和符号意识。",
            "在动手操作和观察比较中发展空间观念和推理能力。",
            "能运用{topic}的知识解决生活中的简单问题，体会数学与生活的联系。",
            "培养学生认真审题、仔细计算、主动检查的习惯。",
        ),
        ("理解{topic}的意义", "掌握{topic}的计算方法", "能用{topic}的知识解决实际问题"),
        ("理解算理，正确进行计算", "建立空间观念", "把实际问题转化为数学问题",
         "理解单位“1”的含义"),
        ("小棒", "分数圆片", "直尺", "三角板", "计数器", "学具袋", "方格纸"),
        ("计算", "分数", "小数", "图形与几何", "统计", "应用题", "数感", "思维训练"),
    ),
    Subject(
        "english", "英语", 12,
        (
            ("Unit {n} {t}", ENGLISH_UNITS), ("Unit {n} {t} Part A Let's talk", ENGLISH_UNITS),
            ("Unit {n} {t} Part B Let's learn", ENGLISH_UNITS),
            ("Unit {n} {t} Read and write", ENGLISH_UNITS),
            ("Unit {n} {t}（第{n}课时）", ENGLISH_UNITS), ("phonics：{t}", PHONICS),
            ("Phonics {t} 发音练习", PHONICS), ("英语绘本阅读 {t}", PICTURE_BOOKS),
            ("Story time: {t}", PICTURE_BOOKS),
        ),
        (
            "能听懂、会说、会读本课的新单词和句型。",
            "能够在情境中运用本课句型进行简单的对话交流。",
            "通过 phonics 练习，掌握字母及字母组合的发音规律。",
            "能够借助图片读懂小故事，并进行简单的复述。",
            "培养学生用英语进行交流的兴趣和信心。",
        ),
        ("掌握本课的新单词和重点句型", "能够在情境中运用句型进行交流",
         "能够读懂 {topic} 的小故事"),
        ("单词的正确发音", "句型的灵活运用", "字母组合的发音规律", "用英语完整地表达"),
        ("单词卡片", "点读笔", "英语挂图", "录音机", "头饰", "PPT 课件"),
        ("phonics", "vocabulary", "dialogue", "绘本", "reading", "TPR", "songs", "口语"),
    ),
    Subject(
        "science", "科学", 10,
        (("{t}", SCIENCE_TOPICS), ("{t}（实验课）", SCIENCE_TOPICS), ("探究：{t}", SCIENCE_TOPICS),
         ("{t}（第{n}课时）", SCIENCE_TOPICS)),
        (
            "通过实验观察，认识{topic}的主要特点，学会记录和整理实验数据。",
            "经历提出问题、作出假设、动手实验、得出结论的科学探究过程。",
            "能够正确使用实验器材，注意实验安全。",
            "培养实事求是的科学态度和乐于探究的精神。",
        ),
        ("认识{topic}的特点", "学会设计简单的实验", "用图表记录观察结果"),
        ("控制变量，设计对比实验", "根据实验现象得出结论", "坚持长期观察和记录"),
        ("实验器材", "放大镜", "烧杯", "温度计", "磁铁", "电池和小灯泡", "观察记录表"),
        ("实验", "观察", "探究", "科学记录", "STEM"),
    ),
    Subject(
        "morality_law", "道德与法治", 6,
        (("{t}", MORALITY_TOPICS), ("{t}（第{n}课时）", MORALITY_TOPICS)),
        (
            "懂得{topic}的重要意义，增强规则意识和责任意识。",
            "能够结合生活中的事例，说一说自己的看法。",
            "养成良好的行为习惯，做一个文明守纪的好学生。",
        ),
        ("懂得{topic}的意义", "联系生活实际明白道理"),
        ("把道理落实到日常行为中", "辨析生活中的真实情境"),
        ("情境图片", "视频短片", "案例卡片"),
        ("德育", "安全教育", "法治教育", "养成教育"),
    ),
    Subject(
        "music", "音乐", 5,
        (("{t}", MUSIC_TOPICS), ("{t}教学", MUSIC_TOPICS)),
        (
            "能用自然、优美的声音演唱歌曲，感受歌曲的情绪。",
            "认识本课的节奏和音符，能够准确地拍出节奏。",
            "通过欣赏，感受民族音乐的魅力，激发热爱音乐的情感。",
        ),
        ("学唱{topic}", "准确地拍出节奏"),
        ("唱准歌曲中的难点乐句", "用不同的速度和力度表现歌曲"),
        ("电子琴", "打击乐器", "音乐音频", "竖笛"),
        ("唱歌", "欣赏", "节奏", "器乐"),
    ),
    Subject(
        "art", "美术", 5,
        (("{t}", ART_TOPICS),),
        (
            "了解{topic}的基本方法，能够大胆地进行创作。",
            "通过欣赏和比较，提高审美能力。",
            "能够运用多种材料和工具表现自己的想法。",
        ),
        ("掌握{topic}的基本方法",),
        ("大胆创新，表现出自己的特点", "合理安排画面"),
        ("彩笔", "剪刀", "彩纸", "橡皮泥", "水彩颜料", "范画"),
        ("手工", "绘画", "欣赏", "剪纸"),
    ),
    Subject(
        "pe", "体育", 5,
        (("{t}", PE_TOPICS), ("{t}（第{n}次课）", PE_TOPICS)),
        (
            "掌握{topic}的动作要领，提高身体的协调性和灵敏性。",
            "在练习和游戏中发展速度、力量、耐力等身体素质。",
            "培养遵守规则、团结协作、勇于拼搏的体育精神。",
            "注意运动安全，学会自我保护。",
        ),
        ("掌握{topic}的动作要领",),
        ("动作连贯协调", "用力顺序正确"),
        ("跳绳", "篮球", "足球", "标志桶", "口哨", "沙包"),
        ("体育游戏", "体能", "阳光大课间"),
    ),
    Subject(
        "it", "信息技术", 4,
        (("{t}", IT_TOPICS),),
        (
            "了解{topic}的基本操作方法，能够独立完成任务。",
            "在完成任务的过程中提高信息素养和动手能力。",
            "培养安全、文明使用计算机和网络的意识。",
        ),
        ("掌握{topic}的基本操作",),
        ("综合运用所学操作完成作品", "理解程序的执行顺序"),
        ("计算机教室", "多媒体网络教室软件", "任务单"),
        ("信息科技", "编程", "Scratch", "信息素养"),
    ),
    Subject(
        "other", "综合", 3,
        (("{t}", OTHER_TOPICS),),
        (
            "在活动中获得真实的体验，提高实践能力。",
            "通过{topic}，培养学生的责任意识和合作精神。",
        ),
        ("在活动中获得真实的体验",),
        ("把活动中的收获落实到生活中",),
        ("活动记录表", "照片和视频", "劳动工具"),
        ("劳动教育", "班会", "心理健康", "综合实践", "书法"),
    ),
)

OBJECTIVES_GENERIC = (
    "知识与技能：学生能够理解{topic}的主要内容，掌握相关的基础知识和基本技能。",
    "过程与方法：通过观察、操作、讨论和交流，经历{topic}的学习过程，提高分析问题和解决问题的能力。",
    "情感态度与价值观：激发学生学习{subject}的兴趣，养成认真倾听、积极思考、大胆表达的学习习惯。",
    "在小组合作中学会分工与倾听，体验合作学习的乐趣。",
    "能够联系生活实际，运用所学知识解决简单的实际问题。",
    "培养学生的观察能力、想象能力和语言表达能力。",
    "关注学困生和留守儿童，让每个学生在课堂上都有所收获。",
    "通过自主学习和展示交流，增强学习的自信心。",
)

OBJECTIVES_IN_ENGLISH = (
    "Students will be able to listen, say and read the new words of {topic}.",
    "Students will be able to use the key sentences in real situations.",
    "Students can read the story with correct pronunciation and intonation.",
    "Students will learn the phonics rule and read new words by themselves.",
    "Help students build interest and confidence in speaking English.",
    "Students can work in groups and act out the dialogue.",
)

BREAKTHROUGH = (
    "通过直观演示和动手操作，化抽象为具体，突破教学难点。",
    "采用小组合作探究的方式，让学生在交流中解决问题。",
    "借助多媒体课件，帮助学生建立直观的认识。",
    "设计分层练习，关注不同层次学生的学习需求。",
    "联系学生熟悉的农村生活情境，降低理解的难度。",
    "先扶后放，由教师示范到学生独立完成。",
)

MATERIALS_GENERIC = (
    "多媒体课件", "希沃白板", "学习单", "实物投影", "PPT 课件", "视频资料", "挂图",
    "小黑板", "教材", "练习册",
)

TAGS_GENERIC = (
    "新授课", "复习课", "练习课", "公开课", "示范课", "常态课", "单元整体教学", "大单元教学",
    "双减", "作业设计", "分层作业", "信息化教学", "小组合作", "项目式学习", "留守儿童",
    "复式教学", "送教下乡", "一师一优课", "教研组", "新课标", "核心素养", "跨学科",
)

REFLECTION = (
    "本节课总体上完成了教学目标，学生参与度较高，课堂气氛活跃。",
    "导入环节用时偏长，导致练习时间不够，下次要注意把握各环节的时间。",
    "小组合作时部分学生参与不够，今后要明确分工，让每个学生都有任务。",
    "学生对{topic}的理解比较到位，但在运用时还容易出错，需要在后续练习中加强。",
    "班上有几名留守儿童基础较弱，课后进行了个别辅导。",
    "多媒体课件的使用激发了学生的兴趣，但要避免课件代替学生的思考。",
    "由于学校网络不稳定，原定的视频没有播放，临时改为教师讲述。",
    "复式班教学中，两个年级交替进行，动静搭配还需要进一步优化。",
    "课堂提问的面还不够广，今后要多关注后排和不爱发言的学生。",
    "作业反馈显示大部分学生掌握较好，约有三分之一的学生还需要巩固。",
    "这节课是教研组的公开课，听课老师提出要更多地给学生留出思考时间。",
    "学生的朗读有了明显进步，但有感情朗读还需要多加指导。",
    "练习设计的梯度还不够，后进生完成困难，优等生又吃不饱。",
    "通过本节课的教学，我认识到备课时要多备学生，了解学生已有的知识基础。",
    "板书设计比较清晰，帮助学生梳理了{topic}的知识结构。",
    "评价语言还比较单一，今后要用更具体的评价激励学生。",
)

REFLECTION_MIXED = (
    "Let's chant 环节学生很喜欢，课堂气氛很好。",
    "phonics 教学效果不错，多数学生能够拼读新单词。",
    "Free talk 时间较短，学生开口说英语的机会还不够多。",
    "用 PPT 展示图片后，学生对 {topic} 的兴趣明显提高。",
)

REFLECTION_IN_ENGLISH = (
    "The students were active in class, but some of them still had difficulty with pronunciation.",
    "Next time I will give more time for pair work.",
    "The phonics game worked well and most students could read the new words.",
    "The lesson was a little too long for the practice part, so I will cut the warm-up next time.",
    "Some students were shy to speak, so I will use more group work and praise.",
)

ASSESSMENT = (
    "课堂观察学生的参与情况和回答问题的情况。",
    "通过课堂练习检测学生对{topic}的掌握程度。",
    "小组互评与教师评价相结合。",
    "利用评价表对学生的表现进行评价。",
    "出口检测：完成三道当堂检测题，统计正确率。",
    "采用星级评价，激励学生积极参与。",
)

ASSESSMENT_IN_ENGLISH = (
    "Use a checklist to see if students can say the new words.",
    "Students assess each other in pairs with a star chart.",
)

HOMEWORK = (
    "完成课后练习第{n}题。",
    "背诵课文第{n}自然段。",
    "抄写本课生字，每个写三遍。",
    "完成练习册第{n}页。",
    "回家把今天学的知识讲给家长听。",
    "观察生活中的{topic}，写一写你的发现。",
    "分层作业：A组完成基础题，B组完成提高题。",
    "收集有关{topic}的资料，下节课交流。",
)

HOMEWORK_IN_ENGLISH = (
    "Read the new words three times and copy them.",
    "Listen to the tape and read the dialogue.",
    "Draw a picture and write two sentences about it.",
)

# --- lesson plans: procedure ----------------------------------------------------

# phase key -> (Chinese names, minutes range)
PHASES = {
    "intro": (("导入", "情境导入", "复习导入", "谈话导入", "激趣导入"), (3, 8)),
    "new": (("新授", "探究新知", "合作探究", "初读课文", "精读感悟"), (12, 22)),
    "practice": (("练习", "巩固练习", "分层练习", "当堂检测"), (6, 12)),
    "extend": (("拓展", "拓展延伸", "拓展提升"), (3, 6)),
    "summary": (("小结", "课堂小结", "总结提升"), (2, 4)),
    "homework": (("作业", "布置作业"), (1, 3)),
}
PHASES_IN_ENGLISH = {
    "intro": ("Warm-up", "Lead-in", "Warm-up 热身"),
    "new": ("Presentation", "Presentation 新知呈现"),
    "practice": ("Practice", "Practice 操练"),
    "extend": ("Production", "Production 拓展运用"),
    "summary": ("Summary", "Summary 小结"),
    "homework": ("Homework", "Homework 作业"),
}
PHASE_ORDERS = {
    3: ("intro", "new", "summary"),
    4: ("intro", "new", "practice", "summary"),
    5: ("intro", "new", "practice", "summary", "homework"),
    6: ("intro", "new", "practice", "extend", "summary", "homework"),
}

TEACHER_ACTIVITIES = {
    "intro": (
        "创设情境，出示与{topic}有关的图片，引导学生观察并提问。",
        "播放短视频，激发学习兴趣，揭示课题。",
        "复习上节课的内容，自然引入新课。",
        "讲一个小故事，引出{topic}。",
    ),
    "new": (
        "组织学生小组合作，探究{topic}，巡视指导。",
        "引导学生自读课文，圈出生字词，再指名朗读。",
        "演示操作过程，引导学生说一说发现了什么。",
        "出示例题，引导学生尝试解答，再集体交流方法。",
        "板书重点，讲解{topic}的关键之处。",
    ),
    "practice": (
        "出示练习题，巡视指导，及时反馈。",
        "组织闯关游戏，分层出示练习。",
        "指导学生完成学习单，展示典型作业。",
    ),
    "extend": (
        "联系生活实际，提出拓展问题。",
        "推荐课外阅读材料，布置小调查。",
    ),
    "summary": (
        "引导学生回顾本节课所学内容，梳理知识。",
        "请学生说说这节课的收获。",
    ),
    "homework": (
        "布置分层作业，提出书写要求。",
        "布置实践性作业，请家长配合完成。",
    ),
}
STUDENT_ACTIVITIES = {
    "intro": ("观察图片，说一说自己发现了什么。", "观看视频，自由发言。", "回忆旧知，回答问题。"),
    "new": ("小组讨论，汇报交流。", "自读课文，圈画生字词。", "动手操作，记录结果。",
            "尝试解答，说出思路。"),
    "practice": ("独立完成练习，同桌互查。", "参加闯关游戏。", "完成学习单，展示交流。"),
    "extend": ("联系生活说一说。", "记录拓展任务。"),
    "summary": ("谈收获，说体会。", "回顾并梳理所学知识。"),
    "homework": ("记录作业要求。", "明确作业内容。"),
}
TEACHER_ACTIVITIES_IN_ENGLISH = {
    "intro": ("Greet the students and sing a song together.", "Free talk about the weather."),
    "new": ("Show pictures and teach the new words.", "Play the video of the dialogue.",
            "Teach the phonics rule with word cards."),
    "practice": ("Play a guessing game with the word cards.", "Ask students to practise in pairs."),
    "extend": ("Ask students to act out the dialogue in groups.", "Make a survey in groups."),
    "summary": ("Sum up the words and sentences of {topic}.",),
    "homework": ("Give the homework.",),
}
STUDENT_ACTIVITIES_IN_ENGLISH = {
    "intro": ("Sing the song and say hello.", "Talk with the teacher."),
    "new": ("Listen, point and repeat.", "Read the new words after the teacher."),
    "practice": ("Play the game.", "Practise the dialogue in pairs."),
    "extend": ("Act out the dialogue.", "Do the survey and report."),
    "summary": ("Read the words together.",),
    "homework": ("Write down the homework.",),
}

PUBLISHERS = {
    "chinese": ("部编版", "统编版"),
    "math": ("人教版", "北师大版", "苏教版", "西师版"),
    "english": ("人教PEP", "外研版", "湘少版", "译林版"),
    "science": ("教科版", "苏教版", "人教鄂教版"),
    "other": ("人教版", "统编版", "湘教版", "校本教材"),
}

AUTHORS = ("王秀兰", "李建国", "张丽", "刘洋", "陈静", "杨帆", "赵敏", "黄磊")

# --- training ------------------------------------------------------------------

COUNTIES = (
    "某某县", "平安县", "云岭县", "河西县", "永安县", "安宁县", "石泉县", "丰宁县", "兴和县",
    "青川县", "宁远县", "镇安县",
)

TRAINING_THEMES = (
    "新课标背景下的大单元教学设计", "作业设计与“双减”落地", "小学数学核心素养", "整本书阅读",
    "课堂提问的艺术", "复式班教学策略", "留守儿童心理辅导", "信息技术与学科融合",
    "小学英语 phonics 教学", "劳动教育课程实施", "项目式学习", "课堂观察与评课",
    "乡村学校美育", "班级管理与家校沟通", "试卷命题与质量分析", "阅读素养提升",
)

TRAINING_ENGLISH_TITLES = (
    "Teaching English Phonics (online course)", "Coursera: Learning How to Learn",
    "TESOL Foundations", "British Council: Teaching Young Learners",
    "Classroom Management Essentials", "Online course: Formative Assessment in Primary Schools",
    "Scratch for Educators", "Teaching Reading with Picture Books",
)

PROVIDERS = (
    "县教师进修学校", "市教育局教研室", "北京师范大学", "华东师范大学", "西南大学",
    "国家中小学智慧教育平台", "中国教师研修网", "British Council", "Coursera",
    "学校教研组", "学区中心校", "省教育厅",
)

TRAINING_LOCATIONS = (
    "县教师进修学校", "市第三中学报告厅", "城关第一小学", "学区中心校会议室", "本校多功能教室",
    "省教育学院", "师范大学培训中心",
)

TRAINING_TOPICS = (
    "本次培训围绕{theme}展开，包括专家讲座、案例分析和分组研讨。",
    "专家结合具体课例，讲解了{theme}的基本思路和操作方法。",
    "观摩了两节示范课，并参与了课后的评课议课。",
    "学习了新课程标准的主要变化和学业质量要求。",
    "分组完成了一份单元教学设计，并在全班展示交流。",
    "了解了信息化教学工具的使用，如希沃白板、国家中小学智慧教育平台的资源。",
    "Topics included lesson planning, classroom language and formative assessment.",
)

TRAINING_TAKEAWAYS = (
    "认识到{theme}不是额外的负担，而是提高课堂效率的途径。",
    "教学设计要从学生的实际出发，农村学生的生活经验同样是宝贵的课程资源。",
    "评价要贯穿教学全过程，而不只是在课后考试。",
    "作业要少而精，分层设计，让每个学生都能完成。",
    "同伴互助很重要，回校后要和教研组的老师多交流。",
    "I learned how to use simple games to practise phonics with young learners.",
    "信息技术可以弥补农村学校资源的不足，但要用得恰当。",
)

TRAINING_ACTIONS = (
    "回校后在教研组内做一次二级培训，分享{theme}的学习收获。",
    "下学期每个单元至少设计一次分层作业，并记录学生的完成情况。",
    "上一节汇报课，把培训中学到的方法用到课堂上。",
    "每周阅读一篇教育教学文章，写读书笔记。",
    "和结对学校的老师建立线上教研群，定期交流。",
    "Try one new classroom game every week and write a short reflection.",
)

# --- exchanges -------------------------------------------------------------------

PLACES = (
    "城关", "青山", "石门", "白水", "东坪", "南岭", "柳河", "马坪", "黄土坡", "清水", "龙潭",
    "桃源", "高桥", "新街", "大河", "双溪", "杨柳", "金鸡", "凤凰", "红岩", "三合", "长岭",
    "太平", "永和", "安乐", "兴隆", "和平", "胜利", "团结", "新华",
)
VILLAGES = ("王家", "李家", "张家湾", "石桥", "松林", "河口", "上坪", "下寨", "中心", "田坝")
CITIES = ("安顺", "六盘水", "天水", "定西", "昭通", "遵义", "恩施", "吉首", "汉中", "赣州")
FOREIGN_SCHOOLS = (
    "Riverside Primary School (UK, online)", "Sunshine Primary School, Hong Kong",
    "Maple Leaf Elementary School (online)",
)

EXCHANGE_ACTIVITIES = (
    "双方教师同课异构，围绕{topic}各上一节课，课后集体评课。",
    "参观了{school}的校园文化建设和功能教室。",
    "听了{school}老师的三节常态课，并参加了他们的教研活动。",
    "两校学生结对开展读书交流活动，互赠图书和书信。",
    "通过视频会议进行了线上联合教研。",
    "我校教师到{school}跟岗学习一周，参与备课、上课和批改作业。",
    "开展了“手拉手”体育联谊活动。",
    "Students introduced their hometowns to each other in English over a video call.",
)

EXCHANGE_OBSERVATIONS = (
    "{school}的课堂小组合作开展得比较扎实，学生表达能力强。",
    "对方学校的作业设计分层清晰，值得我们借鉴。",
    "对方学校的学生阅读量大，图书角管理规范。",
    "我们在信息化设备的使用上还有差距。",
    "两校的学生都很投入，留守儿童在活动中表现得很开心。",
    "对方老师的课堂评价语言丰富，课堂节奏把握得好。",
    "The teachers there use a lot of English in class and the students are confident.",
)

EXCHANGE_OUTCOMES = (
    "与{school}建立了长期的结对帮扶关系，约定每学期至少交流两次。",
    "整理了活动照片和听课记录，在教研组内进行了分享。",
    "计划下学期邀请{school}的老师来我校上示范课。",
    "学生之间保持书信往来，写信能力有了提高。",
    "共同开发了一个{topic}的教学资源包。",
    "We agreed to hold an online class together every month.",
)
