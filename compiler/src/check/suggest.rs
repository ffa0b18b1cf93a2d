//! "Did you mean" by edit distance. Each lookup scans its candidates once; the
//! number of lookups per file is capped (`Budget`) so that a file with a
//! hundred thousand misspellings still checks in linear time.

/// How many suggestion lookups one check may make.
pub const SUGGESTION_LOOKUPS_PER_FILE: u32 = 200;

#[derive(Debug)]
pub struct Budget {
    lookups_left: u32,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget { lookups_left: SUGGESTION_LOOKUPS_PER_FILE }
    }
}

impl Budget {
    /// The candidate closest to `name`, if one is close enough to be a
    /// plausible typo: within a third of the name's length in
    /// Damerau-Levenshtein distance (at least 1), or equal ignoring case
    /// and `-`/`_`.
    pub fn closest<'c>(&mut self, name: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
        if self.lookups_left == 0 {
            return None;
        }
        self.lookups_left -= 1;
        closest(name, candidates)
    }
}

pub fn closest<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let name_length = name.chars().count();
    let limit = (name_length / 3).max(1);
    let folded = fold(name);
    let mut best: Option<(usize, &'c str)> = None;
    for candidate in candidates {
        if candidate == name {
            continue;
        }
        let distance = if fold(candidate) == folded {
            0
        } else {
            if candidate.chars().count().abs_diff(name_length) > limit {
                continue;
            }
            strsim::damerau_levenshtein(name, candidate)
        };
        if distance <= limit && best.is_none_or(|(best_distance, _)| distance < best_distance) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

fn fold(name: &str) -> String {
    name.chars().map(|c| if c == '_' { '-' } else { c.to_ascii_lowercase() }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_and_case_slips() {
        assert_eq!(closest("stripd", ["stripped", "out"]), Some("stripped"));
        assert_eq!(closest("Out_Avg", ["out-avg", "in"]), Some("out-avg"));
        assert_eq!(closest("imgae", ["image", "command"]), Some("image"));
        assert_eq!(closest("zzz", ["image", "command"]), None);
    }

    #[test]
    fn budget_runs_out() {
        let mut budget = Budget { lookups_left: 1 };
        assert_eq!(budget.closest("imgae", ["image"]), Some("image"));
        assert_eq!(budget.closest("imgae", ["image"]), None);
    }
}
