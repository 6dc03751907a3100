//! Every report the kit writes, as Markdown (and LaTeX for run tables): one run's results, a
//! table of runs, the published tables, a run's published cells, the published-vs-reproduced
//! comparison, and the expected-vs-reproduced comparison.

use crate::experiment::evaluate::EvalResult;
use crate::experiment::published::{decide, reproduced, Published, RunCells, Verdict};
use crate::experiment::reference::{claim_holds, Expected};
use crate::experiment::run::Manifest;
use std::collections::BTreeMap;

fn fmt(metric: &str, v: f64) -> String {
    match metric {
        "psnr" => format!("{v:.2}"),
        "ssim" => format!("{v:.4}"),
        _ => format!("{v:.5}"),
    }
}

/// `mean ± std` of a metric.
pub fn cell(r: &EvalResult, metric: &str) -> String {
    r.metrics.get(metric).map(|m| format!("{} ± {}", fmt(metric, m.mean), fmt(metric, m.std))).unwrap_or("—".into())
}

/// The run's report: provenance and its metrics.
pub fn run_markdown(m: &Manifest, r: &EvalResult) -> String {
    let mut groups = String::new();
    if !r.groups.is_empty() {
        groups.push_str("Per test pattern (the table above pools them, except those marked *not pooled*: further patterns of `evaluate`):\n\n| pattern | PSNR (dB) | SSIM | NMSE |\n|---|---|---|---|\n");
        for g in &r.groups {
            let c = |metric: &str| {
                g.metrics
                    .get(metric)
                    .map(|v| format!("{} ± {}", fmt(metric, v.mean), fmt(metric, v.std)))
                    .unwrap_or("—".into())
            };
            let name = if g.extra { format!("{} (*not pooled*)", g.pattern) } else { g.pattern.clone() };
            groups.push_str(&format!("| {name} | {} | {} | {} |\n", c("psnr"), c("ssim"), c("nmse")));
        }
        groups.push('\n');
    }
    format!(
        "# {paper} / {variant} / {experiment} ({scale} scale)\n\n\
         Network `{network}` ({params} parameters), seed {seed}, {device}; data: {data}.\n\
         Scored under `{protocol}` on the {part} part, mean ± std over {unit}.\n\n\
         | PSNR (dB) | SSIM | NMSE |\n|---|---|---|\n| {psnr} | {ssim} | {nmse} |\n\n\
         {groups}Spec `{spec}` (hash {hash}), kit {kit} ({commit}), {time:.1} s.\n",
        paper = m.paper,
        variant = m.variant,
        experiment = m.experiment,
        scale = m.scale,
        network = m.network,
        params = m.parameters,
        seed = m.seed,
        device = m.device,
        data = m.data["source"],
        protocol = r.protocol,
        part = r.part,
        unit = r.unit,
        psnr = cell(r, "psnr"),
        ssim = cell(r, "ssim"),
        nmse = cell(r, "nmse"),
        spec = m.spec,
        hash = m.spec_hash,
        kit = m.kit_version,
        commit = m.git_commit,
        time = m.wall_time_s,
    )
}

/// The run's metrics as a LaTeX table.
pub fn run_latex(m: &Manifest, r: &EvalResult) -> String {
    let pm = |metric: &str| {
        r.metrics
            .get(metric)
            .map(|v| format!("${} \\pm {}$", fmt(metric, v.mean), fmt(metric, v.std)))
            .unwrap_or("--".into())
    };
    format!(
        "% {} / {} / {} ({} scale), protocol {}\n\\begin{{tabular}}{{lccc}}\n\\toprule\nRun & PSNR (dB) & SSIM & NMSE \\\\\n\\midrule\n{} & {} & {} & {} \\\\\n\\bottomrule\n\\end{{tabular}}\n",
        m.paper,
        m.variant,
        m.experiment,
        m.scale,
        r.protocol,
        format!("{}/{}", m.variant, m.experiment).replace('_', "\\_"),
        pm("psnr"),
        pm("ssim"),
        pm("nmse")
    )
}

/// A table of several runs (rows) and their metrics, as Markdown and LaTeX.
pub fn runs_table(rows: &[(String, EvalResult)]) -> (String, String) {
    let mut md = String::from("| Run | Protocol | PSNR (dB) | SSIM | NMSE |\n|---|---|---|---|---|\n");
    let mut tex =
        String::from("\\begin{tabular}{llccc}\n\\toprule\nRun & Protocol & PSNR (dB) & SSIM & NMSE \\\\\n\\midrule\n");
    for (name, r) in rows {
        md.push_str(&format!(
            "| {name} | {} | {} | {} | {} |\n",
            r.protocol,
            cell(r, "psnr"),
            cell(r, "ssim"),
            cell(r, "nmse")
        ));
        let pm = |metric: &str| {
            r.metrics
                .get(metric)
                .map(|v| format!("${} \\pm {}$", fmt(metric, v.mean), fmt(metric, v.std)))
                .unwrap_or("--".into())
        };
        tex.push_str(&format!(
            "{} & {} & {} & {} & {} \\\\\n",
            name.replace('_', "\\_"),
            r.protocol,
            pm("psnr"),
            pm("ssim"),
            pm("nmse")
        ));
    }
    tex.push_str("\\bottomrule\n\\end{tabular}\n");
    (md, tex)
}

/// The published cells one run reproduces, beside its numbers: published | reproduced | Δ |
/// tolerance | verdict (Δ and verdict only at paper scale). Cells the file lacks are listed as
/// such.
pub fn published_cells_markdown(p: &Published, run: &RunCells) -> String {
    let paper_scale = run.scale == "paper";
    let mut out = format!(
        "\n## {} vs the published cells it reproduces ({})\n\n{}| Cell | Metric | Published | Reproduced | Δ | Tolerance | Verdict |\n|---|---|---|---|---|---|---|\n",
        run.run,
        p.citation,
        if paper_scale {
            String::new()
        } else {
            format!("{} scale: not the paper's data, so no Δ or verdict.\n\n", run.scale)
        }
    );
    for cell in &run.reproduces {
        let parts: Vec<&str> = cell.split('@').next().unwrap_or(cell).split('/').collect();
        let metrics = match parts.as_slice() {
            [t, r, c] => {
                p.tables.get(*t).and_then(|t| t.rows.iter().find(|x| x.id == *r)).and_then(|r| r.cells.get(*c))
            }
            _ => None,
        };
        let Some(metrics) = metrics else {
            out.push_str(&format!("| {cell} | — | not in the published tables | — | — | — | — |\n"));
            continue;
        };
        for (metric, stat) in metrics {
            let got = run.stat(parts[0], parts[1], parts[2], metric);
            let tol = run.tolerance.get(metric);
            let (delta, verdict) = match (got, paper_scale, tol) {
                (None, _, _) => ("—".to_string(), "not scored".to_string()),
                (Some(_), false, _) => ("—".to_string(), format!("n/a ({} scale)", run.scale)),
                (Some(g), true, Some(t)) => {
                    let d = g.mean - stat.mean;
                    (format!("{d:+.4}"), if d.abs() <= *t { "within" } else { "OUT" }.to_string())
                }
                (Some(g), true, None) => (format!("{:+.4}", g.mean - stat.mean), "no tolerance set".to_string()),
            };
            out.push_str(&format!(
                "| {cell} | {metric} | {} | {} | {delta} | {} | {verdict} |\n",
                stat.show(4),
                got.map(|g| format!("{:.4} ± {:.4}", g.mean, g.std)).unwrap_or_else(|| "—".into()),
                tol.map(|t| format!("±{t}")).unwrap_or_else(|| "—".into())
            ));
        }
    }
    out
}

/// The comparison of a paper's published tables with a set of runs: per cell published |
/// reproduced | Δ | tolerance | verdict, then every claim on the published numbers and on the
/// reproduced ones. Runs below paper scale are labelled as such and get no verdict: their data
/// are not the paper's. `data` says what the runs were trained and scored on.
pub fn published_comparison_markdown(p: &Published, runs: &[RunCells], scale: &str, data: &str) -> String {
    let paper_scale = scale == "paper";
    let mut out = format!(
        "# {}: published tables vs the kit's {scale}-scale reproduction\n\n{}\n\nPublished numbers: {}.\n\n",
        p.title, p.citation, p.source
    );
    if !paper_scale {
        out.push_str(&format!(
            "**The reproduced numbers below are {scale}-scale runs on {data}. They are not the paper's \
             numbers and are not comparable with them; they show that each run trains and how the rows \
             order. Δ and verdicts against the published values appear only at paper scale on the paper's data.**\n\n"
        ));
    }
    for (tid, t) in &p.tables {
        out.push_str(&format!(
            "## {} (`{tid}`)\n\n- Dataset: {}; target {}, reference {}; {}x{}\n- Protocol: {}\n- Training: {}\n",
            t.caption, t.dataset, t.target, t.reference, t.size[0], t.size[1], t.protocol, t.training
        ));
        for c in &t.columns {
            out.push_str(&format!("- {}: {}\n", c.id, c.mask));
        }
        out.push_str(&format!(
            "\n| Method | AF | Metric | Published | Reproduced ({scale}) | Run | Δ | Tolerance | Verdict |\n|---|---|---|---|---|---|---|---|---|\n"
        ));
        for r in &t.rows {
            for c in &t.columns {
                for (metric, stat) in &r.cells[&c.id] {
                    let digits = if metric == "psnr" { 2 } else { 3 };
                    let published = stat.show(digits);
                    let cells = match reproduced(runs, tid, &r.id, &c.id) {
                        None => "— | not run | — | — | —".to_string(),
                        Some(run) => match run.stat(tid, &r.id, &c.id, metric) {
                            None => format!("— | {} | — | — | metric not scored", run.run),
                            Some(got) => {
                                let tol = run.tolerance.get(metric);
                                let (delta, verdict) = if !paper_scale {
                                    ("—".to_string(), format!("n/a ({scale} scale)"))
                                } else {
                                    let d = got.mean - stat.mean;
                                    let v = match tol {
                                        Some(t) if d.abs() <= *t => "within",
                                        Some(_) => "OUT",
                                        None => "no tolerance set",
                                    };
                                    (format!("{d:+.*}", digits), v.to_string())
                                };
                                format!(
                                    "{:.*} ± {:.*} | {} | {delta} | {} | {verdict}",
                                    digits,
                                    got.mean,
                                    digits,
                                    got.std,
                                    run.run,
                                    tol.map(|t| format!("±{t}")).unwrap_or_else(|| "—".into())
                                )
                            }
                        },
                    };
                    out.push_str(&format!(
                        "| {} | {} | {} | {published} | {cells} |\n",
                        r.method,
                        c.id,
                        metric.to_uppercase()
                    ));
                }
            }
        }
        out.push('\n');
    }
    let reproduced_value = |table: &str, row: &str, column: &str, metric: &str| {
        reproduced(runs, table, row, column).and_then(|r| r.stat(table, row, column, metric)).map(|s| s.mean)
    };
    let published_value = |table: &str, row: &str, column: &str, metric: &str| p.value(table, row, column, metric);
    out.push_str(&format!(
        "## Claims\n\n| Claim | On the published numbers | On the {scale}-scale reproduction |\n|---|---|---|\n"
    ));
    for c in &p.claims {
        let show = verdict_markdown;
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            c.text,
            show(decide(p, c, &published_value, true)),
            show(decide(p, c, &reproduced_value, false))
        ));
    }
    out
}

/// A claim's verdict as a Markdown table cell.
fn verdict_markdown(v: Verdict) -> String {
    match v {
        Verdict::Held(n) if n.is_empty() => "held".to_string(),
        Verdict::Held(n) => format!("held ({n})"),
        Verdict::NotHeld(n) => format!("**NOT held** ({n})"),
        Verdict::Undecided(n) => format!("not decided ({n})"),
    }
}

/// The published tables as the paper prints them (one row per method, a column per acceleration
/// and metric, mean ± std) and the claims with their verdict on the published numbers.
pub fn published_markdown(p: &Published) -> String {
    let mut out = format!("**{}** — {}\n\nSource: {}.\n\n", p.title, p.citation, p.source);
    for (tid, t) in &p.tables {
        let metrics: Vec<&String> = t
            .rows
            .first()
            .and_then(|r| t.columns.first().and_then(|c| r.cells.get(&c.id)))
            .map(|cells| cells.keys().collect())
            .unwrap_or_default();
        out.push_str(&format!(
            "### {} (`{tid}`)\n\n{}; target {}, reference {}; protocol: {}\n\n| Method |",
            t.caption, t.dataset, t.target, t.reference, t.protocol
        ));
        let mut rule = String::from("|---|");
        for c in &t.columns {
            for m in &metrics {
                out.push_str(&format!(" {} {} |", c.id, m.to_uppercase()));
                rule.push_str("---|");
            }
        }
        out.push_str(&format!("\n{rule}\n"));
        for r in &t.rows {
            out.push_str(&format!("| {} |", r.method));
            for c in &t.columns {
                for m in &metrics {
                    let digits = if m.as_str() == "psnr" { 2 } else { 3 };
                    match r.cells.get(&c.id).and_then(|cells| cells.get(*m)) {
                        Some(s) => out.push_str(&format!(" {} |", s.show(digits))),
                        None => out.push_str(" — |"),
                    }
                }
            }
            out.push('\n');
        }
        out.push('\n');
    }
    out.push_str("### Claims\n\n| Claim | On the published numbers |\n|---|---|\n");
    let value = |t: &str, r: &str, c: &str, m: &str| p.value(t, r, c, m);
    for c in &p.claims {
        out.push_str(&format!("| {} | {} |\n", c.text, verdict_markdown(decide(p, c, &value, true))));
    }
    out
}

/// The comparison report of a set of runs with a paper's `expected.json` (or `reduced.json`): every expected cell
/// (expected | reproduced | Δ | tolerance | verdict) and every claim (held / not held, and
/// "not run" when a run it needs is missing). `results` maps the file's run ids to results.
pub fn expected_comparison_markdown(expected: &Expected, results: &BTreeMap<String, EvalResult>) -> String {
    let mut out = format!(
        "# {}: reproduced vs expected at {} scale\n\nData: {}.\nThese are the kit's own {}-scale numbers, never the paper's; the expected values come from `{}`.\n\n\
         | Run | Metric | Expected | Reproduced | Δ | Tolerance | Verdict |\n|---|---|---|---|---|---|---|\n",
        expected.paper, expected.scale, expected.data, expected.scale, expected.produced_by
    );
    for (id, run) in &expected.runs {
        for (metric, cell) in &run.cells {
            match results.get(id).and_then(|r| r.mean(metric)) {
                Some(got) => out.push_str(&format!(
                    "| {id} | {metric} | {:.4} | {got:.4} | {:+.4} | ±{} | {} |\n",
                    cell.value,
                    got - cell.value,
                    cell.tolerance,
                    if (got - cell.value).abs() <= cell.tolerance { "within" } else { "OUT" }
                )),
                None => out.push_str(&format!(
                    "| {id} | {metric} | {:.4} | — | — | ±{} | not run |\n",
                    cell.value, cell.tolerance
                )),
            }
        }
    }
    out.push_str("\n| Claim | Values | Verdict |\n|---|---|---|\n");
    for c in &expected.claims {
        let (b, w) = (
            results.get(&c.better).and_then(|r| r.mean(&c.metric)),
            results.get(&c.worse).and_then(|r| r.mean(&c.metric)),
        );
        match (b, w) {
            (Some(b), Some(w)) => out.push_str(&format!(
                "| {} | {} {} {b:.4} vs {} {w:.4} (margin {}) | {} |\n",
                c.text,
                c.better,
                c.metric,
                c.worse,
                c.margin,
                if claim_holds(&c.metric, b, w, c.margin) { "held" } else { "NOT held" }
            )),
            _ => out.push_str(&format!("| {} | — | not run |\n", c.text)),
        }
    }
    out
}
