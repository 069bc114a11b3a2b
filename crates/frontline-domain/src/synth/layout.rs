//! Site plan of the synthetic district: building shapes, rows inside compounds, compounds side by side.

use crate::rng::SplitMix64;

/// Longitude of the centre of the synthetic site (漳州开发区).
pub(super) const CENTRE_LON: f64 = 118.065;
/// Latitude of the centre of the synthetic site.
pub(super) const CENTRE_LAT: f64 = 24.425;
/// Metres per degree of latitude.
const METRES_PER_DEG_LAT: f64 = 111_320.0;

/// Lowest and highest floor counts of any building.
pub(super) const MIN_FLOORS: u32 = 6;
/// See [`MIN_FLOORS`].
pub(super) const MAX_FLOORS: u32 = 33;

/// The character of a compound, which sets its mix of building kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Style {
    /// 1990s–2000s: walk-ups and mid-rises among some towers.
    Garden,
    /// 2000s–2010s: mostly high-rises.
    Mixed,
    /// 2010s: towers.
    Modern,
}

/// Styles handed to compounds in turn (the start rotates with the seed).
pub(super) const STYLES: [Style; 3] = [Style::Garden, Style::Mixed, Style::Modern];

/// The shape of a building: floors, units (entrances) and doors per floor per unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Layout {
    /// Floors above ground.
    pub floors: u32,
    /// Units (单元), each with its own entrance and stairs.
    pub units: u32,
    /// Doors (flats) per floor in each unit.
    pub doors: u32,
}

impl Layout {
    /// Number of flats.
    pub fn capacity(self) -> u64 {
        u64::from(self.floors) * u64::from(self.units) * u64::from(self.doors)
    }
}

/// Building kinds: walk-up (6–7 floors), mid-rise (11–12), high-rise (17–18), tower (26–33).
const KINDS: usize = 4;

/// Draws buildings for one compound: kinds come from a shuffled bag with the style's
/// exact proportions (so compounds of a style hold similar numbers of flats), sizes at random.
pub(super) struct Builder {
    style: Style,
    bag: Vec<usize>,
}

impl Builder {
    /// A builder for a compound of `style`.
    pub fn new(style: Style) -> Builder {
        Builder { style, bag: Vec::new() }
    }

    /// The next building.
    pub fn draw(&mut self, rng: &mut SplitMix64) -> Layout {
        if self.bag.is_empty() {
            // How many of each kind in every 20 buildings.
            let counts: [usize; KINDS] = match self.style {
                Style::Garden => [2, 4, 7, 7],
                Style::Mixed => [0, 2, 7, 11],
                Style::Modern => [0, 0, 4, 16],
            };
            for (kind, &n) in counts.iter().enumerate() {
                self.bag.extend(std::iter::repeat_n(kind, n));
            }
            for i in (1..self.bag.len()).rev() {
                let j = rng.below(i as u64 + 1) as usize;
                self.bag.swap(i, j);
            }
        }
        let kind = self.bag.pop().unwrap_or(KINDS - 1);
        draw_kind(kind, rng)
    }
}

/// Draws a building of `kind` (see [`KINDS`]).
fn draw_kind(kind: usize, rng: &mut SplitMix64) -> Layout {
    let pick = |rng: &mut SplitMix64, options: &[u32], weights: &[u32]| {
        options.get(rng.weighted(weights)).copied().unwrap_or(2)
    };
    match kind {
        0 => Layout { floors: pick(rng, &[6, 7], &[2, 1]), units: pick(rng, &[2, 3, 4], &[1, 2, 2]), doors: 2 },
        1 => Layout {
            floors: pick(rng, &[11, 12], &[3, 1]),
            units: pick(rng, &[2, 3, 4], &[1, 2, 1]),
            doors: pick(rng, &[2, 3, 4], &[1, 1, 1]),
        },
        2 => Layout {
            floors: pick(rng, &[17, 18], &[1, 3]),
            units: pick(rng, &[2, 3, 4], &[2, 2, 1]),
            doors: pick(rng, &[2, 3, 4], &[1, 1, 2]),
        },
        _ => Layout {
            floors: rng.range(26, 33) as u32,
            units: pick(rng, &[1, 2, 3, 4], &[1, 3, 3, 1]),
            doors: pick(rng, &[2, 3, 4], &[1, 2, 5]),
        },
    }
}

/// The smallest building holding at least `households` flats (the largest one if none does).
pub(super) fn fit(households: u64) -> Layout {
    let mut best = Layout { floors: MAX_FLOORS, units: 4, doors: 4 };
    for units in 1..=4_u32 {
        for doors in 2..=4_u32 {
            let per_floor = u64::from(units * doors);
            let floors = households.div_ceil(per_floor).clamp(u64::from(MIN_FLOORS), u64::from(MAX_FLOORS));
            let candidate = Layout { floors: floors as u32, units, doors };
            let cap = candidate.capacity();
            if cap >= households && cap < best.capacity() {
                best = candidate;
            }
        }
    }
    best
}

/// Width (east–west) and depth (north–south) of a building's footprint in metres.
fn size(layout: Layout, rng: &mut SplitMix64) -> (f64, f64) {
    let jitter = |rng: &mut SplitMix64, lo: i64, hi: i64| rng.range(lo * 2, hi * 2) as f64 / 2.0;
    let tower = layout.units == 1 || (layout.floors >= 26 && layout.units == 2);
    if tower {
        let wide = if layout.units == 2 { 10.0 } else { 0.0 };
        (jitter(rng, 22, 30) + wide, jitter(rng, 20, 26))
    } else {
        let natural = f64::from(layout.units * (7 + 4 * layout.doors));
        ((natural + jitter(rng, 0, 4)).clamp(40.0, 60.0), jitter(rng, 15, 20))
    }
}

/// An axis-aligned rectangle in metres: west, south, east, north.
#[derive(Clone, Copy, Debug)]
struct Rect {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

/// Margin between a compound's wall and its buildings, in metres.
const COMPOUND_MARGIN: f64 = 20.0;

/// Lays one compound out in rows; rectangles relative to its south-west corner, and its size.
fn compound(layouts: &[Layout], rng: &mut SplitMix64) -> (Vec<Rect>, f64, f64) {
    let n = layouts.len();
    let per_row = ((n as f64 * 1.2).sqrt().ceil() as usize).max(1);
    let mut rects = Vec::with_capacity(n);
    let (mut width, mut y) = (0.0_f64, COMPOUND_MARGIN);
    for row in layouts.chunks(per_row) {
        let mut x = COMPOUND_MARGIN;
        let mut row_depth = 0.0_f64;
        let mut tallest = 0_u32;
        for &layout in row {
            let (w, d) = size(layout, rng);
            let shift = rng.range(0, 8) as f64 / 2.0;
            rects.push(Rect { x0: x, y0: y + shift, x1: x + w, y1: y + shift + d });
            row_depth = row_depth.max(shift + d);
            tallest = tallest.max(layout.floors);
            x += w;
            width = width.max(x);
            x += 13.0 + rng.range(0, 16) as f64 / 2.0;
        }
        // Sunlight spacing: the taller the row, the wider the gap to the next one.
        let gap = (f64::from(tallest) * 3.0 * 0.5).max(18.0) + rng.range(0, 12) as f64 / 2.0;
        y += row_depth + gap;
    }
    (rects, width + COMPOUND_MARGIN, y)
}

/// Footprints (closed rings of `[lon, lat]`) of every building, compound by compound.
pub(super) fn site(compounds: &[Vec<Layout>], rng: &mut SplitMix64) -> Vec<Vec<Vec<[f64; 2]>>> {
    let n = compounds.len();
    let per_shelf = if n <= 4 { n.max(1) } else { (n as f64).sqrt().ceil() as usize };
    let mut placed: Vec<Vec<Rect>> = Vec::with_capacity(n);
    let (mut x, mut y, mut shelf_depth, mut extent_x) = (0.0_f64, 0.0_f64, 0.0_f64, 0.0_f64);
    for (i, layouts) in compounds.iter().enumerate() {
        if i > 0 && i % per_shelf == 0 {
            x = 0.0;
            y += shelf_depth + 30.0 + rng.range(0, 20) as f64;
            shelf_depth = 0.0;
        }
        let (rects, w, d) = compound(layouts, rng);
        placed
            .push(rects.into_iter().map(|r| Rect { x0: r.x0 + x, y0: r.y0 + y, x1: r.x1 + x, y1: r.y1 + y }).collect());
        shelf_depth = shelf_depth.max(d);
        x += w;
        extent_x = extent_x.max(x);
        x += 30.0 + rng.range(0, 20) as f64;
    }
    let (cx, cy) = (extent_x / 2.0, (y + shelf_depth) / 2.0);
    let metres_per_deg_lon = METRES_PER_DEG_LAT * CENTRE_LAT.to_radians().cos();
    let lon = |x: f64| round7(CENTRE_LON + (x - cx) / metres_per_deg_lon);
    let lat = |y: f64| round7(CENTRE_LAT + (y - cy) / METRES_PER_DEG_LAT);
    placed
        .into_iter()
        .map(|rects| {
            rects
                .into_iter()
                .map(|r| {
                    let (w, s, e, n) = (lon(r.x0), lat(r.y0), lon(r.x1), lat(r.y1));
                    vec![[w, s], [e, s], [e, n], [w, n], [w, s]]
                })
                .collect()
        })
        .collect()
}

/// Rounds a coordinate to 7 decimals (about a centimetre).
fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}
