//! A small SVG line chart: requests per 1,000 webhooks against batch size, both axes
//! logarithmic, one line per series. Written by hand so the bench needs no plotting stack.

pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

const W: f64 = 640.0;
const H: f64 = 400.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 200.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;
const COLOURS: [&str; 4] = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd"];

pub fn svg(series: &[Series]) -> String {
    let xs: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    let ys: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .collect();
    let (x0, x1) = decades(&xs);
    let (y0, y1) = decades(&ys);
    let px = |x: f64| LEFT + (x.log10() - x0) / (x1 - x0) * (W - LEFT - RIGHT);
    let py = |y: f64| H - BOTTOM - (y.max(1.0).log10() - y0) / (y1 - y0) * (H - TOP - BOTTOM);
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">
<rect width="{W}" height="{H}" fill="white"/>
<text x="{}" y="22" text-anchor="middle" font-size="14">Requests per 1,000 webhooks against processor batch size</text>
"#,
        (W - RIGHT + LEFT) / 2.0
    );
    // Grid and ticks at each decade.
    for d in (x0 as i32)..=(x1 as i32) {
        let x = px(10f64.powi(d));
        s += &format!(
            "<line x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#ddd\"/>\n<text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
            H - BOTTOM,
            H - BOTTOM + 18.0,
            10u64.pow(d as u32)
        );
    }
    for d in (y0 as i32)..=(y1 as i32) {
        let y = py(10f64.powi(d));
        s += &format!(
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\n<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            10u64.pow(d as u32)
        );
    }
    s += &format!(
        "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">batch size (messages per processor invocation)</text>\n",
        (W - RIGHT + LEFT) / 2.0,
        H - 12.0
    );
    s += &format!(
        "<text x=\"16\" y=\"{:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {:.1})\">requests per 1,000 webhooks</text>\n",
        (H - BOTTOM + TOP) / 2.0,
        (H - BOTTOM + TOP) / 2.0
    );
    for (i, series) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points: Vec<String> = series
            .points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
            .collect();
        s += &format!(
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>\n",
            points.join(" ")
        );
        for (x, y) in &series.points {
            s += &format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{colour}\"><title>{}: {y:.0} at batch size {x}</title></circle>\n",
                px(*x),
                py(*y),
                series.name
            );
        }
        let ly = TOP + 20.0 + i as f64 * 22.0;
        s += &format!(
            "<line x1=\"{}\" y1=\"{ly}\" x2=\"{}\" y2=\"{ly}\" stroke=\"{colour}\" stroke-width=\"2\"/>\n<text x=\"{}\" y=\"{}\">{}</text>\n",
            W - RIGHT + 15.0,
            W - RIGHT + 40.0,
            W - RIGHT + 46.0,
            ly + 4.0,
            series.name
        );
    }
    s += "</svg>\n";
    s
}

/// The decades (log10, whole numbers) around `values`.
fn decades(values: &[f64]) -> (f64, f64) {
    let logs = values.iter().filter(|v| **v > 0.0).map(|v| v.log10());
    let lo = logs.clone().fold(f64::INFINITY, f64::min);
    let hi = logs.fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let (lo, hi) = (lo.floor(), hi.ceil());
    (lo, if hi > lo { hi } else { lo + 1.0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_point_is_drawn_inside_the_plot_with_a_legend_entry() {
        let s = svg(&[
            Series {
                name: "a".into(),
                points: vec![(10.0, 3000.0), (100.0, 2100.0), (1000.0, 2010.0)],
            },
            Series {
                name: "b".into(),
                points: vec![(10.0, 7000.0), (1000.0, 6900.0)],
            },
        ]);
        assert_eq!(s.matches("<circle").count(), 5);
        assert_eq!(s.matches("<polyline").count(), 2);
        for c in s.split("<circle cx=\"").skip(1) {
            let cx: f64 = c.split('"').next().unwrap().parse().unwrap();
            assert!((LEFT..=W - RIGHT).contains(&cx), "{cx}");
        }
        assert!(s.contains(">a</text>") && s.contains(">b</text>"));
    }
}
