//! Tests of building, unit, room and combined address parsing.

use super::*;

fn room(floor: Option<u32>, text: &str) -> Room {
    Room { floor, text: text.to_string() }
}

fn addr(compound: Option<&str>, building: u32, unit: Option<u32>, r: Option<Room>) -> Address {
    Address { compound: compound.map(str::to_string), building, unit, room: r }
}

#[test]
fn building_forms() {
    for raw in ["3号楼", "3栋", "3幢", "3#", "3#楼", "3号", "3", " 3 ", "３号楼", "３＃", "第3栋", "3.0", "3座"]
    {
        assert_eq!(parse_building(raw), Some(3), "{raw}");
    }
    assert_eq!(parse_building("十二栋"), Some(12));
    assert_eq!(parse_building("十栋"), Some(10));
    assert_eq!(parse_building("二十号楼"), Some(20));
    assert_eq!(parse_building("九十九幢"), Some(99));
    assert_eq!(parse_building("三"), Some(3));
    for raw in ["B3", "", "号楼", "0", "0号楼", "三二栋", "一百栋", "3单元", "abc", "12345678901"] {
        assert_eq!(parse_building(raw), None, "{raw}");
    }
}

#[test]
fn canonical_names() {
    assert_eq!(building_name(3), "3号楼");
    assert_eq!(unit_name(1), "1单元");
    assert_eq!(parse_building(&building_name(12)), Some(12));
    assert_eq!(parse_unit(&unit_name(2)), Some(2));
}

#[test]
fn unit_forms() {
    for raw in ["1单元", "1", "一单元", "1-单元", "1－单元", "第1单元", "1号单元", "１单元", "1 单元"]
    {
        assert_eq!(parse_unit(raw), Some(1), "{raw}");
    }
    assert_eq!(parse_unit("十一单元"), Some(11));
    assert_eq!(parse_unit("A单元"), None);
    assert_eq!(parse_unit(""), None);
}

#[test]
fn floor_forms() {
    assert_eq!(parse_floor("13"), Some(13));
    assert_eq!(parse_floor("13层"), Some(13));
    assert_eq!(parse_floor("13F"), Some(13));
    assert_eq!(parse_floor("十三楼"), Some(13));
    assert_eq!(parse_floor("B1"), None);
}

#[test]
fn room_forms() {
    assert_eq!(parse_room("1302"), Some(room(Some(13), "1302")));
    assert_eq!(parse_room("1302室"), Some(room(Some(13), "1302")));
    assert_eq!(parse_room("1302号"), Some(room(Some(13), "1302")));
    assert_eq!(parse_room("13-02"), Some(room(Some(13), "1302")));
    assert_eq!(parse_room("13-2"), Some(room(Some(13), "1302")));
    assert_eq!(parse_room("13—02室"), Some(room(Some(13), "1302")));
    assert_eq!(parse_room("13-1302"), Some(room(Some(13), "1302")));
    assert_eq!(parse_room("502"), Some(room(Some(5), "502")));
    assert_eq!(parse_room("0502"), Some(room(Some(5), "502")));
    assert_eq!(parse_room("１３０２"), Some(room(Some(13), "1302")));
    assert_eq!(parse_room("1302.0"), Some(room(Some(13), "1302")));
    assert_eq!(parse_room("02"), Some(room(None, "2")));
    for raw in ["B1-01", "", "000", "13-", "-02", "1234567", "13-99999", "十三零二", "1-2-3"] {
        assert_eq!(parse_room(raw), None, "{raw}");
    }
}

#[test]
fn combined_address_forms() {
    let full = Some(addr(None, 3, Some(1), Some(room(Some(13), "1302"))));
    for raw in [
        "3号楼1单元1302",
        "3栋1单元1302室",
        "3-1-1302",
        "3幢1单元1302",
        "3#楼1单元1302",
        "3号楼 1单元 1302室",
        "３号楼１单元１３０２",
        "3栋1-1302",
        "3#1-1302",
        "3号楼-1单元-1302",
        "3-1-13-02",
    ] {
        assert_eq!(parse_address(raw), full, "{raw}");
    }
    assert_eq!(parse_address("3#1302"), Some(addr(None, 3, None, Some(room(Some(13), "1302")))));
    assert_eq!(parse_address("3-1302"), Some(addr(None, 3, None, Some(room(Some(13), "1302")))));
    assert_eq!(parse_address("3-1"), Some(addr(None, 3, Some(1), None)));
    assert_eq!(parse_address("3号楼"), Some(addr(None, 3, None, None)));
    assert_eq!(parse_address("3栋1单元"), Some(addr(None, 3, Some(1), None)));
    assert_eq!(parse_address("3栋13-02"), Some(addr(None, 3, None, Some(room(Some(13), "1302")))));
    assert_eq!(parse_address("十二栋二单元502"), Some(addr(None, 12, Some(2), Some(room(Some(5), "502")))));
}

#[test]
fn compound_prefix_is_returned() {
    assert_eq!(
        parse_address("海月花园3号楼1单元1302室"),
        Some(addr(Some("海月花园"), 3, Some(1), Some(room(Some(13), "1302"))))
    );
    assert_eq!(
        parse_address("海月花园二期十二栋2单元502"),
        Some(addr(Some("海月花园二期"), 12, Some(2), Some(room(Some(5), "502"))))
    );
    assert_eq!(
        parse_address("海月花园3-1-1302"),
        Some(addr(Some("海月花园"), 3, Some(1), Some(room(Some(13), "1302"))))
    );
    // A compound with a number in its name: the later building marker is the one that reads.
    assert_eq!(parse_address("1号院3号楼2单元"), Some(addr(Some("1号院"), 3, Some(2), None)));
    // A marker character inside the compound name is not a building.
    assert_eq!(parse_address("金座花园5栋"), Some(addr(Some("金座花园"), 5, None, None)));
}

#[test]
fn unreadable_addresses() {
    for raw in ["", "海月花园", "B3-1-1302", "3号楼1单元B1-01", "3", "1302", "不详", "3号楼1单元1302室（出租）"]
    {
        assert_eq!(parse_address(raw), None, "{raw}");
    }
    assert_eq!(parse_address(&"3号楼".repeat(100_000)), None);
}

#[test]
fn numbers() {
    assert_eq!(parse_number("7"), Some(7));
    assert_eq!(parse_number("七"), Some(7));
    assert_eq!(parse_number("两"), Some(2));
    assert_eq!(parse_number("四十五"), Some(45));
    assert_eq!(parse_number("999999999"), Some(999_999_999));
    assert_eq!(parse_number("9999999999"), None);
    assert_eq!(parse_number("0"), None);
    assert_eq!(parse_number("十十"), None);
}
