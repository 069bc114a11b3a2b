//! Name and code tables of the synthetic district: surnames, given names, compounds, regions, phones.

use std::collections::HashSet;

use crate::ids::Sex;
use crate::rng::SplitMix64;

/// Surnames with relative weights (national frequency, Fujian ones raised).
const SURNAMES: &[(&str, u32)] = &[
    ("王", 72),
    ("李", 72),
    ("张", 68),
    ("刘", 54),
    ("陈", 120),
    ("杨", 31),
    ("黄", 60),
    ("赵", 20),
    ("吴", 40),
    ("周", 19),
    ("徐", 17),
    ("孙", 15),
    ("马", 12),
    ("朱", 12),
    ("胡", 11),
    ("郭", 14),
    ("何", 10),
    ("林", 95),
    ("高", 10),
    ("罗", 9),
    ("郑", 40),
    ("梁", 8),
    ("谢", 10),
    ("宋", 6),
    ("唐", 6),
    ("许", 25),
    ("韩", 6),
    ("冯", 6),
    ("邓", 6),
    ("曹", 6),
    ("彭", 5),
    ("曾", 20),
    ("肖", 5),
    ("田", 4),
    ("董", 4),
    ("袁", 4),
    ("潘", 4),
    ("于", 4),
    ("蒋", 4),
    ("蔡", 25),
    ("余", 4),
    ("杜", 4),
    ("叶", 8),
    ("程", 4),
    ("苏", 7),
    ("魏", 4),
    ("吕", 4),
    ("丁", 3),
    ("任", 3),
    ("沈", 3),
    ("姚", 3),
    ("卢", 4),
    ("姜", 3),
    ("崔", 3),
    ("钟", 3),
    ("谭", 3),
    ("陆", 3),
    ("汪", 3),
    ("范", 3),
    ("金", 3),
    ("石", 3),
    ("廖", 4),
    ("贾", 3),
    ("夏", 2),
    ("韦", 2),
    ("付", 2),
    ("方", 3),
    ("白", 2),
    ("邹", 2),
    ("孟", 2),
    ("熊", 2),
    ("秦", 2),
    ("邱", 3),
    ("江", 3),
    ("尹", 2),
    ("薛", 2),
    ("闫", 2),
    ("段", 2),
    ("雷", 2),
    ("侯", 2),
    ("龙", 2),
    ("史", 2),
    ("陶", 2),
    ("黎", 2),
    ("贺", 2),
    ("顾", 2),
    ("毛", 2),
    ("郝", 2),
    ("龚", 2),
    ("邵", 2),
    ("万", 2),
    ("钱", 2),
    ("严", 2),
    ("覃", 1),
    ("武", 2),
    ("戴", 2),
    ("莫", 2),
    ("孔", 2),
    ("向", 2),
    ("汤", 2),
    ("洪", 15),
    ("庄", 15),
];

/// Index of a surname in the weighted table.
pub(super) type Surname = u8;

/// Draws a surname by frequency.
pub(super) fn surname(rng: &mut SplitMix64) -> Surname {
    let total: u64 = SURNAMES.iter().map(|s| u64::from(s.1)).sum();
    let mut r = rng.below(total);
    for (i, &(_, w)) in SURNAMES.iter().enumerate() {
        let w = u64::from(w);
        if r < w {
            return i as Surname;
        }
        r -= w;
    }
    0
}

/// Given names of one generation: male and female, one and two characters.
struct GivenNames {
    /// Percent of people of this generation with a one-character given name.
    single_pct: u64,
    male_one: &'static [&'static str],
    male_two: &'static [&'static str],
    female_one: &'static [&'static str],
    female_two: &'static [&'static str],
}

/// Born before 1965.
const OLD: GivenNames = GivenNames {
    single_pct: 30,
    male_one: &["忠", "福", "海", "明", "强", "华", "勇", "军", "德", "山", "林", "成", "贵", "发"],
    male_two: &[
        "建国", "建华", "国强", "国庆", "志明", "德明", "德福", "金水", "金福", "水生", "火旺", "添丁", "永福", "文华",
        "明华", "振华", "庆祥", "荣华", "清泉", "天福", "春生", "海生", "顺发", "有才", "玉山", "建平", "卫东", "伟民",
        "金土", "木生",
    ],
    female_one: &["珍", "英", "兰", "梅", "琴", "凤", "华", "芬", "霞", "娥", "莲"],
    female_two: &[
        "秀英", "桂英", "玉兰", "淑珍", "秀兰", "秀珍", "玉珍", "凤英", "美华", "丽华", "秀云", "桂兰", "月娥", "宝珠",
        "玉梅", "春花", "美玉", "素琴", "彩霞", "秀梅", "金花", "瑞英", "秀琴", "阿珠", "碧玉",
    ],
};

/// Born 1965–1989.
const MIDDLE: GivenNames = GivenNames {
    single_pct: 45,
    male_one: &[
        "伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "鹏", "辉", "刚", "峰", "明", "浩", "亮", "平", "雄",
        "彬", "坤", "鑫", "毅",
    ],
    male_two: &[
        "志强", "建军", "海涛", "文斌", "志勇", "国华", "俊杰", "永强", "晓东", "伟强", "建辉", "志伟", "振宇", "明辉",
        "少华", "立新", "卫国", "建新", "海波", "文杰", "荣辉", "国栋", "志鹏", "锦华", "耀辉", "清华",
    ],
    female_one: &[
        "丽", "静", "敏", "燕", "艳", "娟", "芳", "霞", "红", "玲", "萍", "婷", "莉", "颖", "洁", "琳", "蓉", "青",
    ],
    female_two: &[
        "丽娟", "海燕", "秀丽", "晓燕", "丽华", "美玲", "雅琴", "晓红", "春燕", "丽萍", "惠芳", "玉婷", "佳丽", "淑芬",
        "艳红", "小红", "雪梅", "碧霞", "婉婷", "丽君", "慧敏", "雅芳",
    ],
};

/// Born 1990–2004.
const YOUNG: GivenNames = GivenNames {
    single_pct: 25,
    male_one: &["浩", "宇", "杰", "凯", "阳", "磊", "鑫", "晨", "博", "帆", "旭", "哲", "昊"],
    male_two: &[
        "俊杰", "子豪", "浩然", "宇航", "晨阳", "志豪", "嘉豪", "文博", "思远", "家明", "泽宇", "博文", "子健", "俊宇",
        "宇辰", "天宇", "一凡", "明轩", "建宇", "伟杰", "家豪", "雨泽",
    ],
    female_one: &["婷", "雪", "琪", "洁", "颖", "欣", "瑶", "倩", "璐", "琳", "蕾", "悦"],
    female_two: &[
        "欣怡", "思琪", "雨婷", "佳怡", "梦琪", "雅婷", "诗琪", "晓雯", "嘉欣", "子涵", "慧琳", "婧怡", "佳琪", "雨欣",
        "思雨", "雅琪", "晓琳", "心怡", "颖欣", "文静",
    ],
};

/// Born 2005 or later.
const KIDS: GivenNames = GivenNames {
    single_pct: 10,
    male_one: &["轩", "睿", "宸", "泽", "航", "然", "诺", "骏"],
    male_two: &[
        "子轩", "浩宇", "宇轩", "梓轩", "一诺", "浩然", "睿泽", "沐宸", "梓睿", "铭轩", "俊熙", "奕辰", "宇泽", "子墨",
        "嘉懿", "锦程", "皓轩", "承泽", "煜祺", "宸宇",
    ],
    female_one: &["涵", "萱", "彤", "妍", "瑶", "琪", "晴", "悦"],
    female_two: &[
        "梓涵", "欣怡", "一诺", "诗涵", "子涵", "梓萱", "语桐", "可馨", "雨桐", "若汐", "欣妍", "依诺", "沐晴", "思彤",
        "芷若", "语嫣", "佳琪", "梓晴", "安琪", "艺涵",
    ],
};

/// A full name (surname + given name) fitting the birth year and sex.
pub(super) fn full_name(rng: &mut SplitMix64, surname: Surname, birth_year: i32, sex: Sex) -> String {
    let generation = match birth_year {
        ..=1964 => &OLD,
        1965..=1989 => &MIDDLE,
        1990..=2004 => &YOUNG,
        _ => &KIDS,
    };
    let single = rng.below(100) < generation.single_pct;
    let list = match (sex, single) {
        (Sex::Male, true) => generation.male_one,
        (Sex::Male, false) => generation.male_two,
        (Sex::Female, true) => generation.female_one,
        (Sex::Female, false) => generation.female_two,
    };
    let family = SURNAMES.get(usize::from(surname)).map_or("王", |s| s.0);
    let given = rng.pick(list).copied().unwrap_or("明");
    let mut name = String::with_capacity(family.len() + given.len());
    name.push_str(family);
    name.push_str(given);
    name
}

/// Hand-picked compound names, used first.
const CURATED_COMPOUNDS: &[&str] = &[
    "招商·海月花园",
    "滨海湾·锦绣苑",
    "南太武新城·碧湖园",
    "双鱼岛·观澜府",
    "招商·半岛花园",
    "海滨·翡翠湾",
    "南太武·御景苑",
    "招商局·蓝湾公馆",
    "海滨·金域华府",
    "双鱼岛·云海湾",
    "港尾·滨江花园",
    "厦门湾·星河苑",
    "太武·望海园",
    "招商·雍景湾",
    "兴古湾·书香苑",
    "海滨·紫薇花园",
];

const COMPOUND_AREAS: &[&str] = &[
    "招商",
    "招商局",
    "南太武",
    "南太武新城",
    "滨海湾",
    "海滨",
    "双鱼岛",
    "港尾",
    "厦门湾",
    "太武",
    "兴古湾",
    "蓝湾",
    "南滨",
    "海湾",
];
const COMPOUND_CORES: &[&str] = &[
    "海月", "锦绣", "碧湖", "观澜", "翡翠", "金域", "御景", "云海", "星河", "望海", "雍景", "书香", "紫薇", "半岛",
    "海韵", "天玺", "领秀", "丽景", "凯旋", "碧桂", "海景", "海悦", "滨江", "阳光", "榕城", "海晖",
];
const COMPOUND_SUFFIXES: &[&str] = &["花园", "苑", "园", "府", "湾", "公馆", "家园", "雅居", "新村", "华庭"];

/// `n` distinct compound names, curated ones first (in a seed-dependent order).
pub(super) fn compound_names(rng: &mut SplitMix64, n: usize) -> Vec<String> {
    let mut curated: Vec<&str> = CURATED_COMPOUNDS.to_vec();
    for i in (1..curated.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        curated.swap(i, j);
    }
    let mut names: Vec<String> = curated.iter().take(n).map(|s| (*s).to_string()).collect();
    if names.len() >= n {
        return names;
    }
    let mut used: HashSet<String> = names.iter().cloned().collect();
    let (a, c, s) = (COMPOUND_AREAS.len(), COMPOUND_CORES.len(), COMPOUND_SUFFIXES.len());
    let total = (a * c * s) as u64;
    // Walk the combinations in a scrambled but complete order (a stride coprime to the total).
    let stride = [2_579_u64, 2_591, 2_593, 1].into_iter().find(|p| gcd(*p, total) == 1).unwrap_or(1);
    let offset = rng.below(total);
    let mut k = 0_u64;
    while names.len() < n {
        let idx = (offset + (k % total) * stride) % total;
        let round = k / total;
        k += 1;
        let (ai, rest) = ((idx as usize) % a, (idx as usize) / a);
        let (ci, si) = (rest % c, (rest / c) % s);
        let mut name = format!("{}·{}{}", COMPOUND_AREAS[ai], COMPOUND_CORES[ci], COMPOUND_SUFFIXES[si]);
        if round > 0 {
            name.push_str(&phase(round + 1));
        }
        if used.insert(name.clone()) {
            names.push(name);
        }
    }
    names
}

/// "二期", "三期", … "10期": the phase suffix of a later development.
fn phase(n: u64) -> String {
    const DIGITS: [&str; 11] = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];
    match DIGITS.get(n as usize) {
        Some(d) if n > 0 => format!("{d}期"),
        _ => format!("{n}期"),
    }
}

/// Greatest common divisor.
pub(super) fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Candidate community names (社区) in the Development Zone.
pub(super) const COMMUNITIES: &[&str] = &["南滨社区", "海滨社区", "招商社区", "双鱼岛社区", "南太武社区"];

/// Where a person's ID number was first issued: a region code, by weight.
/// "longhai" and "changtai" stand for counties that became districts in 2021,
/// whose code depends on the birth date (see [`region_code`]).
const REGIONS: &[(&str, u32)] = &[
    ("longhai", 30),
    ("350602", 14),
    ("350603", 12),
    ("changtai", 3),
    ("350622", 2),
    ("350623", 6),
    ("350624", 3),
    ("350626", 2),
    ("350627", 3),
    ("350628", 3),
    ("350629", 2),
    ("350203", 3),
    ("350205", 2),
    ("350206", 2),
    ("350211", 2),
    ("350502", 2),
    ("350503", 2),
    ("350582", 2),
    ("440305", 1),
    ("330106", 1),
    ("110105", 1),
    ("430102", 1),
    ("360102", 1),
];

/// A region of origin (index into the weighted table).
pub(super) type Region = u8;

/// The region where children born in the Zone are registered.
pub(super) const LOCAL: Region = 0;

/// Draws a region of origin by weight.
pub(super) fn region(rng: &mut SplitMix64) -> Region {
    let total: u64 = REGIONS.iter().map(|r| u64::from(r.1)).sum();
    let mut r = rng.below(total);
    for (i, &(_, w)) in REGIONS.iter().enumerate() {
        let w = u64::from(w);
        if r < w {
            return i as Region;
        }
        r -= w;
    }
    LOCAL
}

/// The six-digit code of `region` for someone born on `birth_days`; `reform_days`
/// is the day (2021-03-01) from which Longhai and Changtai issue district codes.
pub(super) fn region_code(region: Region, birth_days: i64, reform_days: i64) -> &'static str {
    let reformed = birth_days >= reform_days;
    match REGIONS.get(usize::from(region)).map_or("longhai", |r| r.0) {
        "longhai" if reformed => "350604",
        "longhai" => "350681",
        "changtai" if reformed => "350605",
        "changtai" => "350625",
        code => code,
    }
}

/// Mobile prefixes in common use.
const PHONE_PREFIXES: &[u16] = &[
    130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157, 158, 159, 166, 173, 176, 177,
    178, 180, 181, 182, 183, 185, 186, 187, 188, 189, 191, 198, 199,
];

/// Writes a random 11-digit mobile number into `out`.
pub(super) fn phone_digits(rng: &mut SplitMix64, out: &mut [u8; 11]) {
    let prefix = rng.pick(PHONE_PREFIXES).copied().unwrap_or(138);
    let mut rest = rng.below(100_000_000);
    let mut p = prefix;
    for i in (0..3).rev() {
        out[i] = b'0' + (p % 10) as u8;
        p /= 10;
    }
    for i in (3..11).rev() {
        out[i] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
}
