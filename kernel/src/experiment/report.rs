//! Tables as Markdown and LaTeX: one run's results, and the comparison of reproduced cells with
//! expected or published ones.

use crate::experiment::evaluate::EvalResult;
use crate::experiment::run::Manifest;

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
    format!(
        "# {paper} / {variant} / {experiment} ({scale} scale)\n\n\
         Network `{network}` ({params} parameters), seed {seed}, {device}; data: {data}.\n\
         Scored under `{protocol}` on the {part} part, mean ± std over {unit}.\n\n\
         | PSNR (dB) | SSIM | NMSE |\n|---|---|---|\n| {psnr} | {ssim} | {nmse} |\n\n\
         Spec `{spec}` (hash {hash}), kit {kit} ({commit}), {time:.1} s.\n",
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
