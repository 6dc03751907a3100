//! `reference_results/<paper>/published.json`: a paper's published tables as data (every row and
//! column, mean ± std, dataset, contrasts, masks, protocol, training recipe) and its claims as
//! data. The claims are checked on the published numbers themselves (which catches
//! transcription errors) and on a reproduction's numbers.
//!
//! A run says which published cells it reproduces with `reproduces = ["table1_brats/fsmnet/4x"]`
//! (`TABLE/ROW/COLUMN`, every metric of the cell; `TABLE/ROW/COLUMN@PATTERN` takes the scores of
//! one test pattern of the run, e.g. an `evaluate { pattern { ... } }` robustness test). Claims
//! come in four kinds:
//!
//! * `best`: that row is above every other row of the table in each column;
//! * `increasing`: each row is above the previous one (`ties: true` allows equal values);
//! * `difference`: `better − worse` is the stated `value` (to the table's rounding);
//! * `same`: the row repeats a row of another table (the same experiment reported twice);
//! * `columns_order`: within one row, each pair's first column is above its second (MANet: 2D
//!   masks are easier than 1D ones at the same acceleration). `columns` lists every column the
//!   pairs name.
//!
//! "Above" means higher for PSNR and SSIM and lower for NMSE, LPIPS, GFLOPs and parameters.

use crate::experiment::evaluate::EvalResult;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Mean ± standard deviation of a published cell (papers that print no deviation leave `std`
/// out), and the p-value the paper prints beside it, as printed (IMA: `"<0.001"`, `"=0.001"`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stat {
    pub mean: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<String>,
}

impl Stat {
    /// `mean ± std` (or the mean alone) with `digits` decimals.
    pub fn show(&self, digits: usize) -> String {
        match self.std {
            Some(sd) => format!("{:.*} ± {:.*}", digits, self.mean, digits, sd),
            None => format!("{:.*}", digits, self.mean),
        }
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    pub id: String,
    pub acceleration: f64,
    pub mask: String,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    pub id: String,
    pub method: String,
    #[serde(default)]
    pub year: String,
    /// Column id → metric → value.
    pub cells: BTreeMap<String, BTreeMap<String, Stat>>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    pub caption: String,
    pub dataset: String,
    pub target: String,
    pub reference: String,
    pub size: [usize; 2],
    pub protocol: String,
    pub training: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Difference {
    pub better: String,
    pub worse: String,
    pub value: f64,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Same {
    pub row: String,
    pub table: String,
    #[serde(rename = "as")]
    pub as_row: String,
}

/// Within `row`, the first column of each pair is above the second.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnsOrder {
    pub row: String,
    pub pairs: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableClaim {
    pub text: String,
    pub table: String,
    pub metric: String,
    pub columns: Vec<String>,
    #[serde(default)]
    pub best: Option<String>,
    #[serde(default)]
    pub increasing: Option<Vec<String>>,
    #[serde(default)]
    pub ties: bool,
    #[serde(default)]
    pub difference: Option<Difference>,
    #[serde(default)]
    pub same: Option<Same>,
    #[serde(default)]
    pub columns_order: Option<ColumnsOrder>,
}

/// `published.json`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Published {
    pub paper: String,
    pub title: String,
    pub citation: String,
    pub source: String,
    pub spec: String,
    pub tables: BTreeMap<String, Table>,
    #[serde(default)]
    pub claims: Vec<TableClaim>,
}

impl Published {
    /// A published value: `table/row/column` and a metric.
    pub fn value(&self, table: &str, row: &str, column: &str, metric: &str) -> Option<f64> {
        let t = self.tables.get(table)?;
        t.rows.iter().find(|r| r.id == row)?.cells.get(column)?.get(metric).map(|s| s.mean)
    }
}

/// Reads a `published.json`, checking that every claim names tables, rows, columns and metrics
/// the file has; errors name the file and what is wrong.
pub fn read_published(path: &Path) -> Result<Published, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let p: Published =
        serde_json::from_str(&text).map_err(|e| format!("`{}`:{}:{}: {e}", path.display(), e.line(), e.column()))?;
    let bad = |what: String| format!("`{}`: {what}", path.display());
    for (tid, t) in &p.tables {
        for r in &t.rows {
            for c in &t.columns {
                if !r.cells.contains_key(&c.id) {
                    return Err(bad(format!("table `{tid}` row `{}` has no cells for column `{}`", r.id, c.id)));
                }
            }
            for (cid, metrics) in &r.cells {
                if !t.columns.iter().any(|c| c.id == *cid) {
                    return Err(bad(format!(
                        "table `{tid}` row `{}`: `{cid}` is not one of the table's columns",
                        r.id
                    )));
                }
                if let Some(m) = metrics.keys().find(|m| !METRICS.contains(&m.as_str())) {
                    return Err(bad(format!(
                        "table `{tid}` row `{}`: unknown metric `{m}` ({})",
                        r.id,
                        METRICS.join(", ")
                    )));
                }
            }
        }
    }
    for c in &p.claims {
        let t = p
            .tables
            .get(&c.table)
            .ok_or_else(|| bad(format!("claim \"{}\" names table `{}`, which `tables` lacks", c.text, c.table)))?;
        let mut rows: Vec<&String> = c.best.iter().chain(c.increasing.iter().flatten()).collect();
        let kinds = [
            c.best.is_some(),
            c.increasing.is_some(),
            c.difference.is_some(),
            c.same.is_some(),
            c.columns_order.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err(bad(format!(
                "claim \"{}\" needs exactly one of `best`, `increasing`, `difference`, `same`, `columns_order`",
                c.text
            )));
        }
        if let Some(o) = &c.columns_order {
            rows.push(&o.row);
            if let Some((a, b)) = o.pairs.iter().find(|(a, b)| !c.columns.contains(a) || !c.columns.contains(b)) {
                return Err(bad(format!(
                    "claim \"{}\": pair ({a}, {b}) names a column missing from `columns`",
                    c.text
                )));
            }
        }
        if let Some(d) = &c.difference {
            rows.extend([&d.better, &d.worse]);
        }
        if let Some(s) = &c.same {
            rows.push(&s.row);
            let other = p
                .tables
                .get(&s.table)
                .ok_or_else(|| bad(format!("claim \"{}\" names table `{}`, which `tables` lacks", c.text, s.table)))?;
            if !other.rows.iter().any(|r| r.id == s.as_row) {
                return Err(bad(format!("claim \"{}\": table `{}` has no row `{}`", c.text, s.table, s.as_row)));
            }
        }
        for r in rows {
            if !t.rows.iter().any(|x| x.id == *r) {
                return Err(bad(format!("claim \"{}\": table `{}` has no row `{r}`", c.text, c.table)));
            }
        }
        for col in &c.columns {
            if !t.columns.iter().any(|x| x.id == *col) {
                return Err(bad(format!("claim \"{}\": table `{}` has no column `{col}`", c.text, c.table)));
            }
        }
    }
    Ok(p)
}

/// How a claim came out.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    Held(String),
    NotHeld(String),
    /// The claim cannot be decided on these numbers (rows not run, or a stated number).
    Undecided(String),
}

/// The metrics a published cell may hold: image quality (PSNR, SSIM higher is better; NMSE and
/// LPIPS lower) and cost (IGKR-Net's Table 7: GFLOPs and millions of parameters, lower is better).
pub const METRICS: [&str; 6] = ["psnr", "ssim", "nmse", "lpips", "gflops", "mparams"];

/// Whether a lower value of `metric` is better.
pub fn lower_is_better(metric: &str) -> bool {
    matches!(metric, "nmse" | "lpips" | "gflops" | "mparams")
}

fn above(metric: &str, a: f64, b: f64, ties: bool) -> bool {
    let (a, b) = if lower_is_better(metric) { (b, a) } else { (a, b) };
    if ties {
        a >= b
    } else {
        a > b
    }
}

/// Decides `claim` of `paper` on values from `value(table, row, column, metric)`; `published`
/// says whether those are the published numbers (where `difference` and `same` apply) or a
/// reproduction's (where only the orderings do, among the rows that were run).
pub fn decide(
    paper: &Published,
    claim: &TableClaim,
    value: &dyn Fn(&str, &str, &str, &str) -> Option<f64>,
    published: bool,
) -> Verdict {
    let rows: Vec<String> =
        paper.tables.get(&claim.table).map(|t| t.rows.iter().map(|r| r.id.clone()).collect()).unwrap_or_default();
    let m = claim.metric.as_str();
    let get = |row: &str, col: &str| value(&claim.table, row, col, m);
    let mut notes = Vec::new();
    let mut held = true;
    if let Some(o) = &claim.columns_order {
        let mut decided = 0;
        for (a, b) in &o.pairs {
            let (Some(x), Some(y)) = (get(&o.row, a), get(&o.row, b)) else { continue };
            decided += 1;
            if !above(m, x, y, claim.ties) {
                held = false;
            }
            if !published || !above(m, x, y, claim.ties) {
                notes.push(format!("{a} {x:.4} vs {b} {y:.4}"));
            }
        }
        if decided == 0 {
            return Verdict::Undecided(format!("`{}` not run at both columns of any pair", o.row));
        }
        return if held { Verdict::Held(notes.join("; ")) } else { Verdict::NotHeld(notes.join("; ")) };
    }
    // Why an ordering cannot be decided at a column (its rows were not run there).
    let missing = |col: &str| -> Option<String> {
        if let Some(best) = &claim.best {
            if get(best, col).is_none() {
                return Some(format!("`{best}` not run at {col}"));
            }
            if rows.iter().all(|r| r == best || get(r, col).is_none()) {
                return Some(format!("no other row run at {col}"));
            }
        }
        if let Some(order) = &claim.increasing {
            if order.iter().filter(|r| get(r, col).is_some()).count() < 2 {
                return Some(format!("fewer than two of its rows run at {col}"));
            }
        }
        None
    };
    // On a reproduction an ordering is decided on the columns that were run (the others are
    // named), and is undecided only when none was; on the published tables a gap is undecided.
    let (mut columns, mut unrun) = (Vec::new(), Vec::new());
    for col in &claim.columns {
        match missing(col) {
            Some(why) if published => return Verdict::Undecided(why),
            Some(why) => unrun.push(why),
            None => columns.push(col),
        }
    }
    if columns.is_empty() && !unrun.is_empty() {
        return Verdict::Undecided(unrun.swap_remove(0));
    }
    for col in columns {
        if let Some(best) = &claim.best {
            let Some(b) = get(best, col) else { continue };
            let others: Vec<(String, f64)> =
                rows.iter().filter(|r| *r != best).filter_map(|r| get(r, col).map(|v| (r.clone(), v))).collect();
            for (r, v) in &others {
                if !above(m, b, *v, claim.ties) {
                    held = false;
                    notes.push(format!("{col}: {best} {b:.4} vs {r} {v:.4}"));
                }
            }
            if held && !published {
                notes.push(format!(
                    "{col}: {best} {b:.4} above {}",
                    others.iter().map(|(r, _)| r.as_str()).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        if let Some(order) = &claim.increasing {
            let vals: Vec<(String, f64)> = order.iter().filter_map(|r| get(r, col).map(|v| (r.clone(), v))).collect();
            for w in vals.windows(2) {
                if !above(m, w[1].1, w[0].1, claim.ties) {
                    held = false;
                    if published {
                        notes.push(format!("{col}: {} {:.4} after {} {:.4}", w[1].0, w[1].1, w[0].0, w[0].1));
                    }
                }
            }
            // On a reproduction the whole order says more than the first break.
            if !published {
                notes.push(format!(
                    "{col}: {}",
                    vals.iter().map(|(r, v)| format!("{r} {v:.4}")).collect::<Vec<_>>().join(" → ")
                ));
            }
        }
        if let Some(d) = &claim.difference {
            if !published {
                return Verdict::Undecided("a stated number of the paper's data".into());
            }
            let (Some(b), Some(w)) = (get(&d.better, col), get(&d.worse, col)) else {
                return Verdict::Undecided("missing cells".into());
            };
            // Two cells rounded to 0.01 differ from their exact gap by up to 0.01.
            if ((b - w) - d.value).abs() > 0.011 {
                held = false;
                notes.push(format!("{col}: {b} − {w} = {:.3}, stated {}", b - w, d.value));
            }
        }
        if let Some(s) = &claim.same {
            if !published {
                return Verdict::Undecided("a property of the published tables".into());
            }
            for metric in METRICS {
                let a = value(&claim.table, &s.row, col, metric);
                let b = value(&s.table, &s.as_row, col, metric);
                if a != b {
                    held = false;
                    notes.push(format!("{col} {metric}: {a:?} vs {b:?}"));
                }
            }
        }
    }
    if !unrun.is_empty() {
        notes.push(format!("undecided: {}", unrun.join(", ")));
    }
    if held {
        Verdict::Held(notes.join("; "))
    } else {
        Verdict::NotHeld(notes.join("; "))
    }
}

/// One finished run as the published comparison sees it.
#[derive(Clone, Debug)]
pub struct RunCells {
    /// `variant/experiment`.
    pub run: String,
    pub scale: String,
    /// The run's `reproduces` (`TABLE/ROW/COLUMN`).
    pub reproduces: Vec<String>,
    /// The experiment's `tolerance { psnr = ... }`.
    pub tolerance: BTreeMap<String, f64>,
    pub results: EvalResult,
}

impl RunCells {
    /// The run's `reproduces` entry for the published cell `TABLE/ROW/COLUMN` (with or without
    /// a `@PATTERN` part).
    pub fn entry(&self, table: &str, row: &str, column: &str) -> Option<&str> {
        let id = format!("{table}/{row}/{column}");
        self.reproduces.iter().map(String::as_str).find(|e| e.split('@').next() == Some(id.as_str()))
    }

    /// The run's value of `metric` for the published cell `TABLE/ROW/COLUMN`: its pooled
    /// metrics, or a pattern's for a `@PATTERN` entry.
    pub fn stat(
        &self,
        table: &str,
        row: &str,
        column: &str,
        metric: &str,
    ) -> Option<&crate::experiment::evaluate::MeanStd> {
        match self.entry(table, row, column)?.split_once('@') {
            Some((_, group)) => self.results.stat(&format!("{metric}@{group}")),
            None => self.results.stat(metric),
        }
    }

    /// A finished run, from its manifest and results.
    pub fn of(m: &crate::experiment::run::Manifest, results: &EvalResult) -> Self {
        RunCells {
            run: format!("{}/{}", m.variant, m.experiment),
            scale: m.scale.clone(),
            reproduces: m.reproduces.clone(),
            tolerance: m.tolerance.clone(),
            results: results.clone(),
        }
    }
}

/// The reproduced value of a published cell: the first run that reproduces it.
pub(crate) fn reproduced<'a>(runs: &'a [RunCells], table: &str, row: &str, column: &str) -> Option<&'a RunCells> {
    runs.iter().find(|r| r.entry(table, row, column).is_some())
}

/// How a metric is named on an axis.
fn metric_label(metric: &str) -> String {
    match metric {
        "psnr" => "PSNR (dB)".into(),
        m => m.to_uppercase(),
    }
}

/// A dot chart per table and metric: the table's rows top to bottom, labelled with their
/// methods; one panel per column (acceleration), the published mean as a filled dot and the
/// reproduced one as a ring. Below paper scale the two are not the same experiment (other data,
/// other size, minutes of training), so each column gets two panels with their own axes:
/// compare orderings there, not values.
pub fn dot_chart(path: &Path, p: &Published, table: &str, metric: &str, runs: &[RunCells]) -> Result<(), String> {
    use crate::experiment::figures::{drawing, render, white, FONT, PUBLISHED_COLOUR, REPRODUCED_COLOUR};
    use plotters::prelude::*;
    let Some(t) = p.tables.get(table) else { return Ok(()) };
    let published = |r: &Row, c: &Column| r.cells.get(&c.id).and_then(|m| m.get(metric)).map(|s| s.mean);
    let rows: Vec<&Row> = t.rows.iter().filter(|r| t.columns.iter().any(|c| published(r, c).is_some())).collect();
    if rows.is_empty() {
        return Ok(());
    }
    let value = |r: &Row, c: &Column| {
        reproduced(runs, table, &r.id, &c.id).and_then(|run| run.stat(table, &r.id, &c.id, metric)).map(|s| s.mean)
    };
    // A non-finite value (an infinite PSNR of identical images, a diverged run) has no place on
    // an axis: it is left out and the legend says so (plotters never ends on infinite ranges).
    let got = |r: &Row, c: &Column| value(r, c).filter(|v| v.is_finite());
    let left_out = rows
        .iter()
        .flat_map(|r| t.columns.iter().map(move |c| (r, c)))
        .filter(|(r, c)| value(r, c).is_some_and(|v| !v.is_finite()))
        .count();
    let scales: BTreeSet<&str> = rows
        .iter()
        .flat_map(|r| t.columns.iter().filter_map(|c| reproduced(runs, table, &r.id, &c.id)))
        .map(|run| run.scale.as_str())
        .collect();
    let together = scales.iter().all(|s| *s == "paper");
    let scale = scales.iter().copied().collect::<Vec<_>>().join("/");
    // Panels: a title and, per table row, (published, reproduced).
    type Points = Vec<(Option<f64>, Option<f64>)>;
    let mut panels: Vec<(String, Points)> = Vec::new();
    for c in &t.columns {
        let both: Points = rows.iter().map(|r| (published(r, c), got(r, c))).collect();
        if together || scales.is_empty() {
            panels.push((format!("{} ({} mask)", c.id, c.mask), both));
        } else {
            panels.push((format!("{}: published", c.id), both.iter().map(|b| (b.0, None)).collect()));
            panels.push((format!("{}: reproduced, {scale}", c.id), both.iter().map(|b| (None, b.1)).collect()));
        }
    }
    // DejaVu Sans at 13 px averages about 7.5 px per character.
    let longest = rows.iter().map(|r| r.method.chars().count()).max().unwrap_or(0);
    let label_w = (longest as f64 * 7.5) as usize + 24;
    let (panel_w, row_h, head_h, foot_h) = (250usize, 28usize, 58usize, 54usize);
    let (w, h) = (label_w + panels.len() * panel_w + 16, head_h + rows.len() * row_h + foot_h);
    let n = rows.len() as f64;
    // Row i at y = n - 1 - i: the table's first row on top.
    let y_of = |i: usize| n - 1.0 - i as f64;
    render(path, w, h, white(w, h), |root| {
        let title = format!("{}: {}", t.caption, metric_label(metric));
        root.draw(&Text::new(title, (12, 8), (FONT, 16, FontStyle::Bold).into_font())).map_err(drawing)?;
        let mut legend = if together || scales.is_empty() {
            "filled: published    ring: reproduced".to_string()
        } else {
            format!("filled: published (the paper's data and training)    ring: reproduced at {scale} scale (not comparable in value)")
        };
        if left_out > 0 {
            legend.push_str(&format!("    ({left_out} non-finite reproduced value(s) left out)"));
        }
        root.draw(&Text::new(legend, (12, 32), (FONT, 13).into_font().color(&RGBColor(80, 80, 80))))
            .map_err(drawing)?;
        let (_, body) = root.split_vertically(head_h as u32);
        let (labels, plots) = body.split_horizontally(label_w as u32);
        let areas = plots.split_evenly((1, panels.len()));
        let mut row_pixels: Vec<i32> = Vec::new();
        for (area, (panel_title, points)) in areas.iter().zip(&panels) {
            let values: Vec<f64> = points.iter().flat_map(|p| [p.0, p.1]).flatten().collect();
            let (lo, hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(*v), b.max(*v)));
            let (lo, hi) = if values.is_empty() { (0.0, 1.0) } else { (lo, hi) };
            let pad = ((hi - lo) * 0.12).max(hi.abs().max(1e-3) * 2e-3);
            let mut chart = ChartBuilder::on(area)
                .caption(panel_title, (FONT, 13))
                .margin_left(10)
                .margin_right(14)
                .x_label_area_size(34)
                .build_cartesian_2d((lo - pad)..(hi + pad), -0.5..(n - 0.5))
                .map_err(drawing)?;
            let digits = if metric == "psnr" { 1 } else { 3 };
            chart
                .configure_mesh()
                .disable_y_mesh()
                .y_labels(0)
                .x_labels(4)
                .x_label_formatter(&|v: &f64| format!("{v:.digits$}"))
                .label_style((FONT, 12))
                .light_line_style(RGBColor(238, 238, 238))
                .draw()
                .map_err(drawing)?;
            for i in 0..rows.len() {
                let guide = [(lo - pad, y_of(i)), (hi + pad, y_of(i))];
                chart.draw_series(LineSeries::new(guide, &RGBColor(225, 225, 225))).map_err(drawing)?;
            }
            let dots = points.iter().enumerate().filter_map(|(i, p)| p.0.map(|v| (v, y_of(i))));
            chart.draw_series(dots.map(|at| Circle::new(at, 5, PUBLISHED_COLOUR.filled()))).map_err(drawing)?;
            let rings = points.iter().enumerate().filter_map(|(i, p)| p.1.map(|v| (v, y_of(i))));
            chart
                .draw_series(rings.map(|at| Circle::new(at, 7, REPRODUCED_COLOUR.stroke_width(2))))
                .map_err(drawing)?;
            if row_pixels.is_empty() {
                row_pixels = (0..rows.len()).map(|i| chart.backend_coord(&(lo, y_of(i))).1).collect();
            }
        }
        use plotters::style::text_anchor::{HPos, Pos, VPos};
        let right = Pos::new(HPos::Right, VPos::Center);
        for (r, y) in rows.iter().zip(&row_pixels) {
            let style = (FONT, 13).into_font().into_text_style(&labels).pos(right);
            root.draw(&Text::new(r.method.clone(), (label_w as i32 - 8, *y), style)).map_err(drawing)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paper() -> Published {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reference_results/fsmnet/published.json");
        read_published(&path).unwrap()
    }

    #[test]
    fn every_claim_holds_on_the_transcribed_fsmnet_tables() {
        let p = paper();
        let v = |t: &str, r: &str, c: &str, m: &str| p.value(t, r, c, m);
        for c in &p.claims {
            assert!(matches!(decide(&p, c, &v, true), Verdict::Held(_)), "{}: {:?}", c.text, decide(&p, c, &v, true));
        }
    }

    /// MANet's "2D masks are easier than 1D ones" compares columns of one row: it holds on the
    /// published Table I, breaks when one radial cell is mistyped below a 1D one, and on a
    /// reproduction is decided on the pairs that were run.
    #[test]
    fn a_columns_order_claim_compares_columns_within_a_row() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reference_results/manet/published.json");
        let mut p = read_published(&path).unwrap();
        let claim = p.claims.iter().find(|c| c.columns_order.is_some()).unwrap().clone();
        let v = |t: &str, r: &str, c: &str, m: &str| p.value(t, r, c, m);
        assert!(matches!(decide(&p, &claim, &v, true), Verdict::Held(_)));
        let t = p.tables.get_mut("table1").unwrap();
        let row = t.rows.iter_mut().find(|r| r.id == "manet").unwrap();
        row.cells.get_mut("radial_6x").unwrap().get_mut("psnr").unwrap().mean = 32.0;
        let v = |t: &str, r: &str, c: &str, m: &str| p.value(t, r, c, m);
        let Verdict::NotHeld(why) = decide(&p, &claim, &v, true) else { panic!("a mistyped cell must break it") };
        assert!(why.contains("radial_6x 32.0000 vs 1d_uniform_6x 32.9000"), "{why}");
        // A reproduction that ran only the 6x uniform and radial columns.
        let run = |_: &str, r: &str, c: &str, _: &str| match (r, c) {
            ("manet", "radial_6x") => Some(20.1),
            ("manet", "1d_uniform_6x") => Some(19.6),
            _ => None,
        };
        assert!(
            matches!(decide(&p, &claim, &run, false), Verdict::Held(n) if n == "radial_6x 20.1000 vs 1d_uniform_6x 19.6000")
        );
        let none = |_: &str, _: &str, _: &str, _: &str| None;
        assert!(matches!(decide(&p, &claim, &none, false), Verdict::Undecided(_)));
    }

    /// A `best` claim on a reproduction is decided on the columns that were run and names the
    /// others; with none run it stays undecided. On the published tables a missing cell is
    /// still undecided.
    #[test]
    fn a_best_claim_is_decided_on_the_columns_a_reproduction_ran() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reference_results/manet/published.json");
        let p = read_published(&path).unwrap();
        let claim = p.claims.iter().find(|c| c.table == "table1" && c.metric == "psnr" && c.best.is_some()).unwrap();
        let run = |above: bool| {
            move |_: &str, r: &str, c: &str, _: &str| match (r, c) {
                ("manet", "1d_uniform_6x") => Some(24.0),
                ("dudornet", "1d_uniform_6x") => Some(if above { 23.0 } else { 25.0 }),
                ("zf", "1d_uniform_6x") => Some(17.0),
                _ => None,
            }
        };
        let Verdict::Held(why) = decide(&p, claim, &run(true), false) else { panic!("held on the run column") };
        assert!(why.contains("1d_uniform_6x: manet 24.0000 above zf, dudornet"), "{why}");
        assert!(why.contains("undecided: `manet` not run at 1d_uniform_9x"), "{why}");
        let Verdict::NotHeld(why) = decide(&p, claim, &run(false), false) else { panic!("broken on the run column") };
        assert!(why.starts_with("1d_uniform_6x: manet 24.0000 vs dudornet 25.0000"), "{why}");
        let none = |_: &str, _: &str, _: &str, _: &str| None;
        assert!(
            matches!(decide(&p, claim, &none, false), Verdict::Undecided(w) if w.contains("not run at 1d_uniform_6x"))
        );
        assert!(matches!(decide(&p, claim, &run(true), true), Verdict::Undecided(_)));
    }

    #[test]
    fn the_published_tables_render_as_the_paper_prints_them() {
        let md = crate::experiment::report::published_markdown(&paper());
        // Table 1 (BraTS), FSMNet at 4x and 8x, as the paper prints them.
        assert!(md.contains("| FSMNet (ours) | 41.76 ± 1.88 | 0.986 ± 0.004 | 38.60 ± 1.85 | 0.977 ± 0.006 |"), "{md}");
        assert!(md.contains("| Method | 4x PSNR | 4x SSIM | 8x PSNR | 8x SSIM |"), "{md}");
        assert_eq!(md.matches("| held").count(), paper().claims.len(), "{md}");
    }

    #[test]
    fn a_transcription_error_breaks_a_claim() {
        // DCAMSR's 4x PSNR mistyped as 38.80: the stated 3.16 dB gap no longer holds.
        let mut p = paper();
        let t = p.tables.get_mut("table1_brats").unwrap();
        let row = t.rows.iter_mut().find(|r| r.id == "dcamsr").unwrap();
        row.cells.get_mut("4x").unwrap().get_mut("psnr").unwrap().mean = 38.80;
        let v = |t: &str, r: &str, c: &str, m: &str| p.value(t, r, c, m);
        let claim = p.claims.iter().find(|c| c.text.contains("3.16")).unwrap();
        assert!(matches!(decide(&p, claim, &v, true), Verdict::NotHeld(_)));
        // FSMNet's 8x SSIM below MINet's breaks "best".
        let mut p = paper();
        let t = p.tables.get_mut("table1_brats").unwrap();
        let row = t.rows.iter_mut().find(|r| r.id == "fsmnet").unwrap();
        row.cells.get_mut("8x").unwrap().get_mut("ssim").unwrap().mean = 0.960;
        let v = |t: &str, r: &str, c: &str, m: &str| p.value(t, r, c, m);
        let claim =
            p.claims.iter().find(|c| c.table == "table1_brats" && c.metric == "ssim" && c.best.is_some()).unwrap();
        assert!(matches!(decide(&p, claim, &v, true), Verdict::NotHeld(_)));
    }

    fn run_at(scale: &str, psnr: f64) -> RunCells {
        let ms = |mean| crate::experiment::evaluate::MeanStd { mean, std: 1.0 };
        RunCells {
            run: "base/brats_x4".into(),
            scale: scale.into(),
            reproduces: vec!["table1_brats/fsmnet/4x".into(), "table9/x/4x".into()],
            tolerance: [("psnr".to_string(), 0.5)].into(),
            results: EvalResult {
                protocol: "fsmnet-brats-uint8".into(),
                protocol_version: 1,
                part: "test".into(),
                unit: "slices".into(),
                metrics: [("psnr".to_string(), ms(psnr)), ("ssim".to_string(), ms(0.98))].into(),
                per_volume: vec![],
                per_slice: vec![],
                groups: vec![],
                lpips_weights: None,
            },
        }
    }

    fn png_size(path: &Path) -> (u32, u32) {
        let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
        let info = decoder.read_info().unwrap();
        (info.info().width, info.info().height)
    }

    #[test]
    fn dot_charts_share_an_axis_only_at_paper_scale() {
        let p = paper();
        let dir = std::env::temp_dir().join(format!("mcmr-dots-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (smoke, full, none) = (dir.join("smoke.png"), dir.join("paper.png"), dir.join("none.png"));
        dot_chart(&smoke, &p, "table1_brats", "psnr", &[run_at("smoke", 23.4)]).unwrap();
        dot_chart(&full, &p, "table1_brats", "psnr", &[run_at("paper", 41.5)]).unwrap();
        dot_chart(&none, &p, "table1_brats", "psnr", &[]).unwrap();
        // Table 1 has two columns (4x, 8x): four panels at smoke scale, two at paper scale or
        // with nothing reproduced; eight rows, one per method.
        let (s, f, n) = (png_size(&smoke), png_size(&full), png_size(&none));
        assert_eq!(f, n);
        assert_eq!(s.0 - f.0, 2 * 250, "two more panels of 250 px");
        assert_eq!(s.1, f.1);
        assert_eq!(f.1 as usize, 58 + 8 * 28 + 54);
        dot_chart(&dir.join("x.png"), &p, "no_such_table", "psnr", &[]).unwrap();
        assert!(!dir.join("x.png").exists());
        // An infinite reproduced PSNR (identical images) is left out, not drawn: drawing it made
        // plotters search for axis key points forever. A hang fails here after a minute.
        let (tx, rx) = std::sync::mpsc::channel();
        let (inf, pp) = (dir.join("inf.png"), p.clone());
        let path = inf.clone();
        std::thread::spawn(move || {
            tx.send(dot_chart(&path, &pp, "table1_brats", "psnr", &[run_at("paper", f64::INFINITY)]))
        });
        let r =
            rx.recv_timeout(std::time::Duration::from_secs(60)).expect("a chart with an infinite value must not hang");
        assert!(r.is_ok() && png_size(&inf) == f, "{r:?}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn verdicts_against_published_cells_only_at_paper_scale() {
        let p = paper();
        let md = crate::experiment::report::published_cells_markdown(&p, &run_at("paper", 41.5));
        assert!(
            md.contains(
                "| table1_brats/fsmnet/4x | psnr | 41.7600 ± 1.8800 | 41.5000 ± 1.0000 | -0.2600 | ±0.5 | within |"
            ),
            "{md}"
        );
        assert!(md.contains("| ssim |") && md.contains("no tolerance set"), "{md}");
        assert!(md.contains("| table9/x/4x | — | not in the published tables"), "{md}");
        assert!(crate::experiment::report::published_cells_markdown(&p, &run_at("paper", 40.0))
            .contains("| -1.7600 | ±0.5 | OUT |"));
        let smoke = crate::experiment::report::published_cells_markdown(&p, &run_at("smoke", 23.0));
        assert!(
            smoke.contains("not the paper's data") && smoke.contains("n/a (smoke scale)") && !smoke.contains("within"),
            "{smoke}"
        );
        // The table report labels smoke numbers the same way.
        let report = crate::experiment::report::published_comparison_markdown(
            &p,
            &[run_at("smoke", 23.0)],
            "smoke",
            "the kit's brain phantom",
        );
        assert!(
            report.contains("They are not the paper's numbers")
                && report.contains("| FSMNet (ours) | 4x | PSNR | 41.76 ± 1.88 | 23.00 ± 1.00 |"),
            "{report}"
        );
    }

    #[test]
    fn a_claim_naming_a_missing_row_is_refused_with_the_file() {
        let dir = std::env::temp_dir().join(format!("mcmr-published-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut p = paper();
        p.claims[0].best = Some("nonet".into());
        let path = dir.join("published.json");
        std::fs::write(&path, serde_json::to_string(&p).unwrap()).unwrap();
        let e = read_published(&path).unwrap_err();
        assert!(e.contains("published.json") && e.contains("no row `nonet`"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
