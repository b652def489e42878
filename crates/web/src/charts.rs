//! Small inline SVG charts, drawn on the server: no script, no external library, styled by
//! our stylesheet (so they follow dark mode and the CSP).

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Vertical bars, one per (label, value), with the value above each bar.
pub fn bars(values: &[(String, i64)], description: &str) -> String {
    let (w, h, pad) = (320, 140, 20);
    let max = values.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let n = i64::try_from(values.len().max(1)).unwrap_or(1);
    let slot = (w - 2 * pad) / n;
    let mut out = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\"><title>{}</title>",
        esc(description),
        esc(description)
    );
    out.push_str(&format!(
        "<line class=\"chart-axis\" x1=\"{pad}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
        h - 24,
        w - pad,
        h - 24
    ));
    for (i, (label, v)) in values.iter().enumerate() {
        let i = i64::try_from(i).unwrap_or(0);
        let bar_h = (h - 48) * v / max;
        let x = pad + i * slot + slot / 6;
        let bw = slot * 2 / 3;
        let y = h - 24 - bar_h;
        out.push_str(&format!("<rect class=\"chart-bar\" x=\"{x}\" y=\"{y}\" width=\"{bw}\" height=\"{bar_h}\" rx=\"3\"/>"));
        out.push_str(&format!(
            "<text class=\"chart-value\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{v}</text>",
            x + bw / 2,
            y - 4
        ));
        out.push_str(&format!(
            "<text class=\"chart-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            x + bw / 2,
            h - 8,
            esc(label)
        ));
    }
    out.push_str("</svg>");
    out
}

/// A ring showing a percentage.
pub fn ring(percent: i64, description: &str) -> String {
    let p = percent.clamp(0, 100);
    // Circumference of r=40 is ~251.3; dash the arc proportionally.
    let filled = 251.3 * (p as f64) / 100.0;
    // A zero-length arc with round caps would still draw a dot.
    let arc = if p == 0 {
        String::new()
    } else {
        format!(
            "<circle class=\"ring-fill\" cx=\"50\" cy=\"50\" r=\"40\" stroke-dasharray=\"{filled:.1} 251.3\" transform=\"rotate(-90 50 50)\"/>"
        )
    };
    format!(
        "<svg class=\"chart ring\" viewBox=\"0 0 100 100\" role=\"img\" aria-label=\"{d}\"><title>{d}</title>\
         <circle class=\"ring-track\" cx=\"50\" cy=\"50\" r=\"40\"/>{arc}\
         <text class=\"ring-text\" x=\"50\" y=\"56\" text-anchor=\"middle\">{p}%</text></svg>",
        d = esc(description)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_accessible_svg_with_escaped_labels() {
        let svg = bars(&[("<b>".into(), 2), ("W2".into(), 0)], "Sessions per week");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("role=\"img\"") && svg.contains("<title>Sessions per week</title>"));
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
        assert_eq!(svg.matches("<rect").count(), 2);
        let r = ring(150, "Done");
        assert!(r.contains(">100%<"), "clamped");
        assert!(!ring(0, "None").contains("ring-fill"), "no dot at 0%");
    }
}
