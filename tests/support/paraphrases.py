"""Hand-written queries that paraphrase one seed paragraph each: (query, doc id, a phrase of the paragraph).

Written without looking at search results. Simplified-script queries against Traditional-script
seeds (000, 001) and English queries check the model works across script and language.
"""

PARAPHRASES = [
    # Simplified queries against the Traditional-script seeds
    ("梧州市委书记去藤县调研基层党建和乡村振兴", "000_d06f920685a293a0", "市委書記蔣連生到藤縣調研"),
    ("建立网格员激励机制，让网格化管理高效运行", "000_d06f920685a293a0", "探索建立網格員激勵機制"),
    ("借助袁崇焕故里的历史文化推动农文旅融合", "000_d06f920685a293a0", "用好袁崇煥故里歷史文化"),
    ("村企联建让村集体经济一年收入三十多万元", "000_d06f920685a293a0", "去年村集體經濟收入超過30萬元"),
    ("修文镇配备了多少名全科网格员", "001_2a3c1398cfc30887", "配備全科網格員33名"),
    ("打造蔬菜专业镇，带动群众增收致富", "001_2a3c1398cfc30887", "以打造蔬菜專業鎮建設為抓手"),
    ("吸引乡贤回乡，发展归雁经济", "001_2a3c1398cfc30887", "潛心筑巢激活“歸雁經濟”"),
    # Simplified queries against the Simplified seeds
    ("曲樟乡荔枝产业带示范村获得多少专项资金", "003_0a8f1e061dc44cdc", "获得300万元专项资金"),
    ("给留守儿童上门伴读和线上家教", "003_0a8f1e061dc44cdc", "上门伴读"),
    ("老党员用积分存折在道德银行换大米", "004_8f871e82e7ea0e07", "道德银行"),
    ("参观怀集县的玫瑰产业园，学习产业扶贫", "002_04edc0192fabf55a", "华辰玫瑰产业园"),
    # English queries
    (
        "How many full-time grid workers does Jiangmen have?",
        "004_8f871e82e7ea0e07",
        "选优配强4500名专职网格员",
    ),
    (
        "Typhoon warning: the grid leader told fish farmers to prepare",
        "004_8f871e82e7ea0e07",
        "台风‘泰利’即将来袭",
    ),
    (
        "Village party secretaries' pay is tied to their annual performance grade",
        "004_8f871e82e7ea0e07",
        "月工资比往年翻了一番",
    ),
    (
        "incentives for grid workers and grid-based management of grassroots governance",
        "000_d06f920685a293a0",
        "網格員激勵機制",
    ),
    (
        "rose industrial park visited during the poverty alleviation meeting",
        "002_04edc0192fabf55a",
        "华辰玫瑰产业园",
    ),
    ("vegetable town with e-commerce sales channels", "001_2a3c1398cfc30887", "蔬菜專業鎮"),
]
