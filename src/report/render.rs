//! The report as files: a self-contained HTML page (figures inline, no network), Markdown with
//! the figures beside it, and the claims as JSON.
use super::{Report, figures};
use crate::files::{write_atomic, write_json};
use anyhow::Result;
use serde_json::json;
use std::path::Path;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One row per finished run: where and how it ran.
fn environment_rows(report: &Report) -> Vec<[String; 9]> {
    let mut rows = Vec::new();
    for e in &report.experiments {
        for r in &e.runs {
            let p = &r.planned;
            let Some(f) = &r.result else {
                continue;
            };
            let env = &f.environment;
            // Compact JSON with sorted keys, as the record holds it.
            let in_force = serde_json::to_value(env.determinism.in_force)
                .map_or_else(|e| format!("unreadable: {e}"), |v| v.to_string());
            rows.push([
                p.experiment.clone(),
                p.variant.clone(),
                p.seed.to_string(),
                p.hash.clone(),
                env.device.clone(),
                env.threads.to_string(),
                env.libtorch_version.clone(),
                in_force,
                env.git_commit.clone(),
            ]);
        }
    }
    rows
}

const ENV_HEADER: [&str; 9] = [
    "experiment",
    "variant",
    "seed",
    "run",
    "device",
    "threads",
    "libtorch",
    "determinism in force",
    "commit",
];

fn plans_md(report: &Report) -> String {
    let mut s = String::from(
        "| experiment | title | claims | runs finished | scale |\n|---|---|---|---|---|\n",
    );
    for e in &report.experiments {
        let done = e.runs.iter().filter(|r| r.result.is_some()).count();
        let runs = if e.plan.analysis_of.is_empty() {
            format!("{done}/{}", e.runs.len())
        } else {
            format!("analysis of {}", e.plan.analysis_of.join(", "))
        };
        let skipped = if e.plan.skipped.is_empty() {
            String::new()
        } else {
            format!(" (not on {}: {})", e.plan.device, e.plan.skipped.join(", "))
        };
        s.push_str(&format!(
            "| {} | {} | {} | {runs}{skipped} | {} |\n",
            e.plan.experiment,
            e.plan.title,
            e.plan
                .claims
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            e.plan.scale
        ));
    }
    s
}

fn markdown(report: &Report) -> String {
    let mut s = String::from(
        "# featdiv report\n\nClaims of Blumenfeld, Gilboa & Soudry (ICML 2020) beside our measurements. Every verdict is relative to a baseline trained in the same experiment, at the scale given.\n\n## Claims\n\n| claim | paper | verdict | why | criterion | measured | scale |\n|---|---|---|---|---|---|---|\n",
    );
    for c in &report.claims {
        let cells = [
            c.id.to_string(),
            c.claim.clone(),
            c.verdict.to_string(),
            c.reason.clone().unwrap_or_default(),
            c.criterion.clone(),
            c.measured.clone(),
            c.scale.clone(),
        ];
        s.push_str(&format!(
            "| {} |\n",
            cells.map(|c| c.replace('|', "\\|")).join(" | ")
        ));
    }
    s.push_str("\n## Experiments\n\n");
    s.push_str(&plans_md(report));
    s.push_str("\n## Figures\n\n");
    for f in &report.figures {
        s.push_str(&format!(
            "![{}](figures/{}.svg)\n\n{}\n\n",
            f.chart.title, f.id, f.caption
        ));
    }
    s.push_str("## Environment of every run\n\n|");
    s.push_str(&ENV_HEADER.join(" | "));
    s.push_str(" |\n|");
    s.push_str(&"---|".repeat(ENV_HEADER.len()));
    s.push('\n');
    for r in environment_rows(report) {
        s.push_str(&format!("| {} |\n", r.join(" | ").replace('\n', " ")));
    }
    s
}

/// Marks the page with what rendered (figures with a non-empty box, claims rows), so a headless
/// browser can check it: `<body data-rendered="figures=N claims=M">`.
const SELF_CHECK: &str = r#"<script>
window.addEventListener('load', function () {
  var figs = 0;
  document.querySelectorAll('figure svg').forEach(function (svg) {
    var b = svg.getBBox();
    if (b.width > 100 && b.height > 100 && svg.querySelectorAll('text').length > 0) figs++;
  });
  var rows = 0;
  document.querySelectorAll('#claims tbody tr').forEach(function (tr) {
    if (tr.getBoundingClientRect().height > 0 && tr.cells.length === 7) rows++;
  });
  document.body.setAttribute('data-rendered', 'figures=' + figs + ' claims=' + rows);
});
</script>"#;

const HTML_HEAD: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>featdiv report</title>
<style>
body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%;margin:1em 0;font-size:14px}
th,td{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}
th{background:#f2f2f2}
.holds{background:#dff3df}.does-not-hold{background:#f8dcdc}.not-run{background:#eee;color:#666}
figure{margin:1.5em 0}figcaption{font-size:14px;color:#444;max-width:720px}
code{background:#f4f4f4}
</style></head><body>
<h1>featdiv report</h1>
<p>Claims of Blumenfeld, Gilboa &amp; Soudry, <em>Beyond Signal Propagation: Is Feature Diversity Necessary in Deep Neural Network Initialization?</em> (ICML 2020), beside our measurements. Every verdict is relative to a baseline trained in the same experiment, at the scale given.</p>
"#;

/// A table row of escaped cells.
fn html_row(cells: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let mut s = String::from("<tr>");
    for c in cells {
        s.push_str(&format!("<td>{}</td>", escape(c.as_ref())));
    }
    s.push_str("</tr>\n");
    s
}

fn claims_html(report: &Report) -> String {
    let mut s = String::from(
        "<h2>Claims</h2>\n<table id=\"claims\"><thead><tr><th>claim</th><th>paper</th><th>verdict</th><th>why</th><th>criterion</th><th>measured</th><th>scale</th></tr></thead><tbody>\n",
    );
    for c in &report.claims {
        let class = c.verdict.to_string().replace(' ', "-");
        let class = if class.starts_with("does-not-hold") {
            "does-not-hold".to_string()
        } else {
            class
        };
        let verdict = c.verdict.to_string();
        let id = c.id.to_string();
        let why = c.reason.clone().unwrap_or_default();
        let row = html_row([
            &id,
            &c.claim,
            &verdict,
            &why,
            &c.criterion,
            &c.measured,
            &c.scale,
        ]);
        s.push_str(&row.replacen("<tr>", &format!("<tr class=\"{class}\">"), 1));
    }
    s.push_str("</tbody></table>\n");
    s
}

fn experiments_html(report: &Report) -> String {
    let mut s = String::from(
        "<h2>Experiments</h2>\n<table><thead><tr><th>experiment</th><th>title</th><th>claims</th><th>runs finished</th><th>scale</th></tr></thead><tbody>\n",
    );
    for line in plans_md(report).lines().skip(2) {
        s.push_str(&html_row(
            line.trim_matches('|').split(" | ").map(str::trim),
        ));
    }
    s.push_str("</tbody></table>\n");
    s
}

fn environment_html(report: &Report) -> String {
    let mut s =
        String::from("<h2>Environment of every run</h2>\n<table id=\"environment\"><thead><tr>");
    for h in ENV_HEADER {
        s.push_str(&format!("<th>{h}</th>"));
    }
    s.push_str("</tr></thead><tbody>\n");
    for r in environment_rows(report) {
        s.push_str(&html_row(r));
    }
    s.push_str("</tbody></table>\n");
    s
}

fn html(report: &Report, svgs: &[String]) -> String {
    let mut s = String::from(HTML_HEAD);
    s.push_str(&claims_html(report));
    s.push_str(&experiments_html(report));
    s.push_str("<h2>Figures</h2>\n");
    for (f, svg) in report.figures.iter().zip(svgs) {
        s.push_str(&format!(
            "<figure id=\"{}\">{}<figcaption>{}</figcaption></figure>\n",
            escape(&f.id),
            svg,
            escape(&f.caption)
        ));
    }
    s.push_str(&environment_html(report));
    s.push_str(SELF_CHECK);
    s.push_str("\n</body></html>\n");
    s
}

pub fn write(report: &Report, out: &Path) -> Result<()> {
    let mut svgs = Vec::new();
    for f in &report.figures {
        let svg = figures::svg(&f.chart)?;
        write_atomic(
            &out.join("figures").join(format!("{}.svg", f.id)),
            svg.as_bytes(),
        )?;
        svgs.push(svg);
    }
    write_atomic(&out.join("report.md"), markdown(report).as_bytes())?;
    let figures: Vec<&String> = report.figures.iter().map(|f| &f.id).collect();
    write_json(
        &out.join("claims.json"),
        &json!({"claims": report.claims, "figures": figures}),
    )?;
    write_atomic(&out.join("index.html"), html(report, &svgs).as_bytes())?;
    Ok(())
}
