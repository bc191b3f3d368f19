//! Number formatting for `float64` fields.
//!
//! The service writes integral floats as JSON integers (`"Duration": 60`). To give back the
//! same JSON, integral `f64` values within ±2^53 are serialised as integers; everything else
//! uses the shortest representation that round-trips (`59.990001678467`).

use serde::{Serialize, Serializer};

/// Largest magnitude at which every integer is exactly representable as `f64`.
const EXACT_INT_LIMIT: f64 = 9_007_199_254_740_992.0;

/// An `f64` serialised the way the service writes it.
#[derive(Clone, Copy)]
struct WireF64(f64);

impl Serialize for WireF64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.is_finite() && v.fract() == 0.0 && v.abs() <= EXACT_INT_LIMIT {
            // Exact: |v| <= 2^53 and integral, so the cast does not truncate.
            #[allow(clippy::cast_possible_truncation)]
            s.serialize_i64(v as i64)
        } else {
            s.serialize_f64(v)
        }
    }
}

/// `serialize_with` for `Option<f64>` fields.
pub(super) fn ser_opt_f64<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => WireF64(*v).serialize(s),
        None => s.serialize_none(),
    }
}

/// `serialize_with` for `Option<Vec<f64>>` fields.
pub(super) fn ser_opt_vec_f64<S: Serializer>(
    v: &Option<Vec<f64>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_seq(v.iter().map(|x| WireF64(*x))),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::WireF64;

    fn ser(v: f64) -> String {
        serde_json::to_string(&WireF64(v)).unwrap_or_default()
    }

    #[test]
    fn integral_floats_are_written_as_integers() {
        assert_eq!(ser(60.0), "60");
        assert_eq!(ser(-3.0), "-3");
        assert_eq!(ser(59.990001678467), "59.990001678467");
        assert_eq!(ser(0.5), "0.5");
        assert_eq!(ser(1e300), "1e+300");
    }
}
