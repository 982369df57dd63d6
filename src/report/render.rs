//! The report as files: a self-contained HTML page (one panel per claim with its verdict,
//! criterion, preconditions, numbers, figures and the runs behind it; no network), Markdown with
//! the figures beside it, and the claims as JSON.
use super::{Figure, Report, svg};
use crate::claims::{ClaimRow, Verdict};
use crate::experiment::ClaimId;
use crate::files::{write_atomic, write_json};
use crate::records::OutDir;
use anyhow::Result;
use serde_json::json;
use std::path::{Path, PathBuf};

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
            let Some(f) = r.finished() else {
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

/// The experiments table: (experiment, title, claims, runs finished, scale).
fn plan_rows(report: &Report) -> Vec<[String; 5]> {
    report
        .experiments
        .iter()
        .map(|e| {
            let done = e.runs.iter().filter(|r| r.finished().is_some()).count();
            let mut runs = if e.plan.analysis_of.is_empty() {
                format!("{done}/{}", e.runs.len())
            } else {
                format!("analysis of {}", e.plan.analysis_of.join(", "))
            };
            if !e.plan.skipped.is_empty() {
                runs.push_str(&format!(
                    " (not on {}: {})",
                    e.plan.device,
                    e.plan.skipped.join(", ")
                ));
            }
            let claims: Vec<String> = e.plan.claims.iter().map(|c| c.to_string()).collect();
            [
                e.plan.experiment.clone(),
                e.plan.title.clone(),
                claims.join(", "),
                runs,
                e.plan.scale.clone(),
            ]
        })
        .collect()
}

/// "3 hold, 1 refuted, 4 undecided, 1 not run; profile quick on cpu; K4-cpu (the CPU stand-in)
/// holds": the paper's claims counted, the stand-in apart.
fn summary(report: &Report) -> String {
    let paper = || report.claims.iter().filter(|c| c.id != ClaimId::K4Cpu);
    let count = |v: Verdict| paper().filter(|c| c.verdict == v).count();
    let stand_in = report
        .claims
        .iter()
        .find(|c| c.id == ClaimId::K4Cpu)
        .map_or(String::new(), |c| {
            format!("; K4-cpu (the CPU stand-in, apart) {}", c.verdict)
        });
    let profiles: Vec<String> = report
        .experiments
        .iter()
        .map(|e| e.plan.profile.to_string())
        .collect();
    let devices: Vec<String> = report
        .experiments
        .iter()
        .map(|e| e.plan.device.to_string())
        .collect();
    let first = |v: &[String]| v.first().cloned().unwrap_or_else(|| "?".into());
    format!(
        "{} hold, {} refuted, {} undecided, {} not run; profile {} on {}{stand_in}",
        count(Verdict::Holds),
        count(Verdict::Refuted),
        count(Verdict::Undecided),
        count(Verdict::NotRun),
        first(&profiles),
        first(&devices)
    )
}

/// A claim's test as calibrated by simulation, in words; empty without a calibration.
fn calibration_text(report: &Report, id: ClaimId) -> String {
    let Some(c) = report.calibration.as_ref().and_then(|cal| cal.of(id)) else {
        return String::new();
    };
    if c.alpha == 0.0 {
        return format!(
            "exact check: a planted counter-example read holds in {} of {} draws; power {:.2}",
            (c.size * c.draws as f64).round(),
            c.draws,
            c.power
        );
    }
    format!(
        "size {:.3} (holds) and {:.3} (refuted) at alpha {:.2}, power {:.2} at the declared \
         effect ({} draws a scenario, {})",
        c.size,
        c.size_refuted,
        c.alpha,
        c.power,
        c.draws,
        super::CALIBRATION
    )
}

/// "Stage: exploratory. e1-toy, e2-constnet: seed offset 0: ...": the folder's stage, then a
/// sentence a reason with the experiments it holds for, so six experiments say one reason once.
pub fn stage_line(report: &Report) -> String {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for s in &report.stages {
        match groups.iter_mut().find(|(why, _)| *why == s.why) {
            Some((_, names)) => names.push(&s.experiment),
            None => groups.push((&s.why, vec![&s.experiment])),
        }
    }
    let parts: Vec<String> = groups
        .iter()
        .map(|(why, names)| format!("{}: {why}", names.join(", ")))
        .collect();
    format!("Stage: {}. {}", report.stage, parts.join(". "))
}

/// `to` relative to the folder `from`, for links that survive moving both together.
fn relative(from: &Path, to: &Path) -> PathBuf {
    let (Ok(from), Ok(to)) = (from.canonicalize(), to.canonicalize()) else {
        return to.to_path_buf();
    };
    let common = from
        .components()
        .zip(to.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut rel = PathBuf::new();
    for _ in from.components().skip(common) {
        rel.push("..");
    }
    rel.extend(to.components().skip(common));
    rel
}

fn markdown(report: &Report, runs_link: &Path) -> String {
    let mut s = format!(
        "# featdiv report\n\nClaims of Blumenfeld, Gilboa & Soudry (ICML 2020) beside our \
         measurements, each judged by the criterion its experiment file declares, against a \
         baseline trained in the same experiment.\n\n**{}.**\n\n",
        summary(report)
    );
    s.push_str(&format!("{}.\n\n", stage_line(report)));
    for c in &report.claims {
        s.push_str(&claim_md(c, &report.figures, runs_link));
        let cal = calibration_text(report, c.id);
        if !cal.is_empty() {
            s.push_str(&format!("Calibration: {cal}\n\n"));
        }
    }
    s.push_str(
        "## Experiments\n\n| experiment | title | claims | runs finished | scale \
         |\n|---|---|---|---|---|\n",
    );
    for r in plan_rows(report) {
        s.push_str(&format!(
            "| {} |\n",
            r.map(|c| c.replace('|', "\\|")).join(" | ")
        ));
    }
    s.push_str("\n## More figures\n\n");
    for f in report.figures.iter().filter(|f| f.claim.is_none()) {
        s.push_str(&format!(
            "![{}](figures/{}.svg)\n\n{}\n\n",
            f.chart.title, f.id, f.caption
        ));
    }
    s.push_str(&format!(
        "## Environment of every run\n\n| {} |\n|{}\n",
        ENV_HEADER.join(" | "),
        "---|".repeat(ENV_HEADER.len())
    ));
    for r in environment_rows(report) {
        s.push_str(&format!("| {} |\n", r.join(" | ").replace('\n', " ")));
    }
    s
}

fn claim_md(c: &ClaimRow, figs: &[Figure], runs_link: &Path) -> String {
    let mut s = format!("## {}: {}\n\n> {}\n\n", c.id, c.verdict, c.claim);
    if let Some(why) = &c.reason {
        s.push_str(&format!("**Why:** {why}\n\n"));
    }
    if !c.criterion.is_empty() {
        s.push_str(&format!(
            "**Criterion:** {}\n\n*Rationale:* {}\n\n",
            c.criterion, c.rationale
        ));
    }
    if !c.preconditions.is_empty() {
        s.push_str("| precondition | met | value |\n|---|---|---|\n");
        for p in &c.preconditions {
            s.push_str(&format!(
                "| {} | {} | {} |\n",
                p.what,
                if p.met { "yes" } else { "**no**" },
                p.value
            ));
        }
        s.push('\n');
    }
    for m in c.measured.split("; ").filter(|m| !m.is_empty()) {
        s.push_str(&format!("- {m}\n"));
    }
    for f in figs.iter().filter(|f| f.claim == Some(c.id)) {
        s.push_str(&format!(
            "\n![{}](figures/{}.svg)\n\n{}\n",
            f.chart.title, f.id, f.caption
        ));
    }
    if !c.runs.is_empty() {
        let links: Vec<String> = c
            .runs
            .iter()
            .map(|h| format!("[{h}]({}/{h}/)", runs_link.display()))
            .collect();
        s.push_str(&format!("\nRuns: {}\n", links.join(", ")));
    }
    s.push_str(&format!("\nScale: {}\n\n", c.scale));
    s
}

/// Marks the page with what rendered, so a headless browser can check it: every claim panel with
/// its verdict and a drawn figure, and whether the page fits its window without sideways
/// scrolling: `<body data-rendered="panels=N figures=M fits=yes">`.
const SELF_CHECK: &str = include_str!("assets/self_check.html");

const HTML_HEAD: &str = include_str!("assets/head.html");

fn badge(v: Verdict) -> String {
    let class = v.to_string().replace(' ', "-");
    format!("<span class=\"badge {class}\">{v}</span>")
}

fn figure_html(f: &Figure, svg: &str) -> String {
    format!(
        "<figure id=\"{}\">{svg}<figcaption>{}</figcaption></figure>\n",
        escape(&f.id),
        escape(&f.caption)
    )
}

fn preconditions_html(c: &ClaimRow) -> String {
    if c.preconditions.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "<table class=\"pre\"><thead>\
         <tr><th>precondition</th><th>met</th><th>value</th></tr></thead><tbody>\n",
    );
    for p in &c.preconditions {
        let (class, met) = if p.met {
            ("", "yes")
        } else {
            (" class=\"unmet\"", "no")
        };
        s.push_str(&format!(
            "<tr{class}><td>{}</td><td>{met}</td><td>{}</td></tr>\n",
            escape(&p.what),
            escape(&p.value)
        ));
    }
    s.push_str("</tbody></table>\n");
    s
}

fn claim_html(c: &ClaimRow, report: &Report, svgs: &[String], runs_link: &Path) -> String {
    let mut s = format!(
        "<section class=\"claim\" id=\"{}\">\n<h2>{}{}</h2>\n<blockquote>{}</blockquote>\n",
        c.id,
        c.id,
        badge(c.verdict),
        escape(&c.claim)
    );
    let cal = calibration_text(report, c.id);
    if !cal.is_empty() {
        s.push_str(&format!(
            "<p class=\"calibration\">Calibration: {}</p>\n",
            escape(&cal)
        ));
    }
    if let Some(why) = &c.reason {
        s.push_str(&format!(
            "<p><span class=\"why\">Why:</span> {}</p>\n",
            escape(why)
        ));
    }
    if !c.criterion.is_empty() {
        s.push_str(&format!(
            "<p><b>Criterion:</b> {}<br><i>Rationale:</i> {}</p>\n",
            escape(&c.criterion),
            escape(&c.rationale)
        ));
    }
    s.push_str(&preconditions_html(c));
    s.push_str("<ul class=\"measured\">\n");
    for m in c.measured.split("; ").filter(|m| !m.is_empty()) {
        s.push_str(&format!("<li>{}</li>\n", escape(m)));
    }
    s.push_str("</ul>\n");
    for (f, svg) in report
        .figures
        .iter()
        .zip(svgs)
        .filter(|(f, _)| f.claim == Some(c.id))
    {
        s.push_str(&figure_html(f, svg));
    }
    if !c.runs.is_empty() {
        s.push_str("<p class=\"runs\">Runs behind this verdict (config, records): ");
        for h in &c.runs {
            let href = format!("{}/{h}/", runs_link.display());
            s.push_str(&format!("<a href=\"{}\">{}</a>", escape(&href), escape(h)));
        }
        s.push_str("</p>\n");
    }
    s.push_str(&format!(
        "<p class=\"runs\">Scale: {}</p>\n</section>\n",
        escape(&c.scale)
    ));
    s
}

fn table_html(id: &str, header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut s = format!("<table id=\"{id}\"><thead><tr>");
    for h in header {
        s.push_str(&format!("<th>{h}</th>"));
    }
    s.push_str("</tr></thead><tbody>\n");
    for r in rows {
        s.push_str("<tr>");
        for c in r {
            s.push_str(&format!("<td>{}</td>", escape(&c)));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table>\n");
    s
}

fn html(report: &Report, svgs: &[String], runs_link: &Path) -> String {
    let mut s = String::from(HTML_HEAD);
    s.push_str(&format!(
        "<p id=\"summary\"><b>{}.</b></p>\n<p id=\"stage\">{}.</p>\n<nav>",
        escape(&summary(report)),
        escape(&stage_line(report))
    ));
    for c in &report.claims {
        let class = c.verdict.to_string().replace(' ', "-");
        s.push_str(&format!(
            "<a class=\"{class}\" href=\"#{}\">{} {}</a>",
            c.id, c.id, c.verdict
        ));
    }
    s.push_str("</nav>\n");
    for c in &report.claims {
        s.push_str(&claim_html(c, report, svgs, runs_link));
    }
    s.push_str("<h2>Experiments</h2>\n");
    let header = ["experiment", "title", "claims", "runs finished", "scale"];
    s.push_str(&table_html(
        "experiments",
        &header,
        plan_rows(report).into_iter().map(Vec::from),
    ));
    s.push_str(
        "<details><summary><b>More figures</b> (E4: every layer's diversity; E5: reach after \
         training)</summary>\n",
    );
    for (f, svg) in report
        .figures
        .iter()
        .zip(svgs)
        .filter(|(f, _)| f.claim.is_none())
    {
        s.push_str(&figure_html(f, svg));
    }
    s.push_str("</details>\n<details><summary><b>Environment of every run</b></summary>\n");
    s.push_str(&table_html(
        "environment",
        &ENV_HEADER,
        environment_rows(report).into_iter().map(Vec::from),
    ));
    s.push_str("</details>\n");
    s.push_str(SELF_CHECK);
    s.push_str("\n</body></html>\n");
    s
}

/// Removes the SVG figures of an earlier report in `dir` that this report does not draw, so the
/// folder holds this report's figures only.
fn remove_stale_figures(report: &Report, dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for path in crate::files::files_with_extension(dir, "svg")? {
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        if !report.figures.iter().any(|f| Some(&f.id) == stem.as_ref()) {
            std::fs::remove_file(&path)
                .map_err(|e| anyhow::anyhow!("cannot remove the stale {}: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// Writes the figures, `report.md`, `claims.json` and `index.html` under `out`; links to runs
/// point into `runs_dir` (a sweep's OUT).
pub fn write(report: &Report, runs_dir: &Path, out: &Path) -> Result<()> {
    remove_stale_figures(report, &out.join("figures"))?;
    let mut svgs = Vec::new();
    for f in &report.figures {
        let svg = svg::draw(&f.chart)?;
        write_atomic(
            &out.join("figures").join(format!("{}.svg", f.id)),
            svg.as_bytes(),
        )?;
        svgs.push(svg);
    }
    let runs_link = relative(out, &OutDir(runs_dir).runs());
    write_atomic(
        &out.join("report.md"),
        markdown(report, &runs_link).as_bytes(),
    )?;
    let figures: Vec<&String> = report.figures.iter().map(|f| &f.id).collect();
    let mut doc = json!({
        "summary": summary(report),
        "stage": report.stage,
        "stages": report.stages,
        "claims": report.claims,
        "figures": figures,
        "provenance": report.provenance,
    });
    // Only reports with a growth measurement carry the key: earlier reports stay as they were.
    if !report.growth.is_empty() {
        doc["growth"] = json!(report.growth);
    }
    if let Some(cal) = &report.calibration {
        doc["calibration"] = json!(cal.claims);
    }
    write_json(&out.join("claims.json"), &doc)?;
    write_atomic(
        &out.join("index.html"),
        html(report, &svgs, &runs_link).as_bytes(),
    )?;
    Ok(())
}
