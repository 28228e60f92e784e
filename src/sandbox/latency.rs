//! Simulated network + ARM latency: log-normal around a median (ARM's answer times have a long
//! tail: most requests near the median, a few several times slower), from a seeded sequence so
//! that a run's distribution is reproducible. `--latency 50` = median 50 ms, σ 0.5 (p90 ≈ 95 ms,
//! p99 ≈ 160 ms), each draw capped at 20 × the median; `sigma=0` makes it constant.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// `--latency MS[,sigma=S][,seed=N]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    pub median: Duration,
    /// Standard deviation of the underlying normal (0 = constant latency).
    pub sigma: f64,
    pub seed: u64,
}

/// Default shape of the tail.
pub const DEFAULT_SIGMA: f64 = 0.5;
/// No draw exceeds this multiple of the median.
const CAP: f64 = 20.0;

impl Latency {
    /// A log-normal latency with the default shape and seed.
    pub fn median_ms(ms: u64) -> Latency {
        Latency {
            median: Duration::from_millis(ms),
            sigma: DEFAULT_SIGMA,
            seed: 1,
        }
    }

    /// The same latency for every request.
    pub fn constant(d: Duration) -> Latency {
        Latency {
            median: d,
            sigma: 0.0,
            seed: 1,
        }
    }

    /// Parse `50`, `50,sigma=0.8`, `50,seed=7`, `50,sigma=0` (constant).
    pub fn parse(spec: &str) -> Result<Latency, String> {
        let mut parts = spec.split(',').map(str::trim);
        let ms: f64 = parts
            .next()
            .unwrap_or_default()
            .trim_end_matches("ms")
            .parse()
            .map_err(|_| {
                format!(
                    "`{spec}`: expected the median in milliseconds, e.g. `50` or `50,sigma=0.5`"
                )
            })?;
        if !(ms.is_finite() && ms >= 0.0) {
            return Err(format!(
                "`{spec}`: the median must be a non-negative number"
            ));
        }
        let mut out = Latency {
            median: Duration::from_secs_f64(ms / 1000.0),
            sigma: DEFAULT_SIGMA,
            seed: 1,
        };
        for p in parts.filter(|p| !p.is_empty()) {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| format!("`{p}`: expected key=value (sigma, seed)"))?;
            match k.trim() {
                "sigma" => {
                    out.sigma = v
                        .trim()
                        .parse()
                        .ok()
                        .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                        .ok_or_else(|| format!("`{p}`: sigma must be a non-negative number"))?
                }
                "seed" => {
                    out.seed = v
                        .trim()
                        .parse()
                        .map_err(|_| format!("`{p}`: seed must be an integer"))?
                }
                other => return Err(format!("unknown latency key `{other}` (sigma, seed)")),
            }
        }
        Ok(out)
    }
}

/// Draws latencies; lock-free (one atomic counter).
#[derive(Debug)]
pub struct Sampler {
    spec: Latency,
    n: AtomicU64,
}

impl Sampler {
    pub fn new(spec: Latency) -> Sampler {
        Sampler {
            spec,
            n: AtomicU64::new(0),
        }
    }

    /// The next latency of the sequence.
    pub fn next(&self) -> Duration {
        let i = self.n.fetch_add(1, Ordering::Relaxed);
        self.at(i)
    }

    /// The `i`-th latency of the sequence.
    pub fn at(&self, i: u64) -> Duration {
        let Latency {
            median,
            sigma,
            seed,
        } = self.spec;
        if sigma == 0.0 || median.is_zero() {
            return median;
        }
        let base = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i.wrapping_mul(2);
        let u1 = unit(splitmix64(base));
        let u2 = unit(splitmix64(base ^ 0xA5A5_A5A5_5A5A_5A5A));
        // Box–Muller: a standard normal draw.
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        let factor = (sigma * z).exp().min(CAP);
        median.mul_f64(factor)
    }
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A uniform draw in (0, 1].
fn unit(x: u64) -> f64 {
    ((x >> 11) as f64 + 1.0) / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        assert_eq!(Latency::parse("50").unwrap(), Latency::median_ms(50));
        let l = Latency::parse("20ms, sigma=0.8, seed=7").unwrap();
        assert_eq!(
            (l.median, l.sigma, l.seed),
            (Duration::from_millis(20), 0.8, 7)
        );
        assert_eq!(Latency::parse("5,sigma=0").unwrap().sigma, 0.0);
        for bad in [
            "",
            "x",
            "-1",
            "5,sigma=-1",
            "5,seed=x",
            "5,jitter=1",
            "5,sigma",
        ] {
            assert!(Latency::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn median_and_long_tail() {
        let s = Sampler::new(Latency::median_ms(50));
        let mut v: Vec<f64> = (0..20_000).map(|i| s.at(i).as_secs_f64() * 1e3).collect();
        v.sort_by(f64::total_cmp);
        let q = |p: f64| v[((v.len() as f64 - 1.0) * p) as usize];
        assert!((45.0..55.0).contains(&q(0.5)), "median {}", q(0.5));
        // log-normal σ 0.5: p90 ≈ 95 ms, p99 ≈ 160 ms.
        assert!((85.0..105.0).contains(&q(0.9)), "p90 {}", q(0.9));
        assert!((140.0..185.0).contains(&q(0.99)), "p99 {}", q(0.99));
        assert!(q(1.0) <= 1000.0 + 1e-6);
        assert!(q(0.0) > 0.0);
    }

    #[test]
    fn deterministic_per_seed_and_constant_without_sigma() {
        let a = Sampler::new(Latency::median_ms(50));
        let b = Sampler::new(Latency::median_ms(50));
        let xs: Vec<Duration> = (0..5).map(|_| a.next()).collect();
        let ys: Vec<Duration> = (0..5).map(|_| b.next()).collect();
        assert_eq!(xs, ys);
        let c = Sampler::new(Latency {
            seed: 2,
            ..Latency::median_ms(50)
        });
        assert_ne!(xs[0], c.at(0));
        let k = Sampler::new(Latency::constant(Duration::from_millis(7)));
        assert!((0..10).all(|_| k.next() == Duration::from_millis(7)));
    }
}
