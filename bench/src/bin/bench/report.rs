//! What the bench prints: the table's heading and rows, each pair of lanes' ratio, and the
//! JSON lines printed after the table.

use rnn_train::BackendChoice;

use super::lanes::{Lane, Timing};
use super::shapes::Shape;

/// The run's settings, then the table's heading.
pub fn print_header(backend: BackendChoice, timing: Timing) {
    println!(
        "training throughput: backend {}, threads {}, {} warm-up + {} x {} timed steps",
        backend,
        rayon::current_num_threads(),
        timing.warmup,
        timing.repeats,
        timing.steps
    );
    println!(
        "{:<16} {:>7} {:>8} {:>12} {:>10} {:>10} {:>14}",
        "shape", "backend", "loop", "samples/s", "min", "max", "peak RSS MiB"
    );
}

/// Prints shape `s`'s row for each lane (its rates sorted in place) and, for two lanes, the
/// ratio of their medians; returns the lanes' JSON lines, printed once every shape has run.
pub fn report_shape(
    s: &Shape,
    backend: BackendChoice,
    lanes: &mut [Lane],
    rss: f64,
) -> Vec<String> {
    let mut json = vec![];
    for lane in lanes.iter_mut() {
        lane.rates.sort_by(f64::total_cmp);
        let r = &lane.rates;
        let (median, min, max) = (r[r.len() / 2], r[0], r[r.len() - 1]);
        println!(
            "{:<16} {:>7} {:>8} {:>12.0} {:>10.0} {:>10.0} {:>14.0}",
            s.name,
            backend.name(),
            lane.path,
            median,
            min,
            max,
            rss
        );
        json.push(format!(
            "{{\"shape\": \"{}\", \"batch\": {}, \"backend\": \"{}\", \"recurrence\": \"{}\", \"samples_per_second\": {:.1}, \"min\": {:.1}, \"max\": {:.1}, \"peak_rss_mib\": {:.0}, \"threads\": {}}}",
            s.name,
            s.batch,
            backend.name(),
            lane.path,
            median,
            min,
            max,
            rss,
            rayon::current_num_threads()
        ));
    }
    if let [a, b] = &lanes[..] {
        let ratio = a.rates[a.rates.len() / 2] / b.rates[b.rates.len() / 2];
        println!("{:<16} {} / {}: {ratio:.2}x", s.name, a.path, b.path);
    }
    json
}

/// The process's peak resident memory (VmHWM) in MiB; NaN where /proc cannot tell.
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}
