//! Lookups of ascending paths in an artifact map by walking it alongside
//! them. A rule asks about its queue's paths in path order, and the map is
//! sorted the same way, so the answer is almost always at or just past the
//! previous one: one or two comparisons of neighbouring keys instead of a
//! descent from the root of the tree for every artifact (which, with
//! 100 000 artifacts, is most of the time a rule takes).

use std::collections::btree_map::Range;
use std::ops::Bound;

use crate::digest::{ArtifactMap, DigestSet};

/// Steps taken forward before seeking instead (a map much larger than the
/// queue asking about it).
const MAX_STEPS: usize = 16;

/// Answers [`BTreeMap::get`](std::collections::BTreeMap::get) for one map,
/// fastest when asked in ascending order; any order gives the right answer.
pub(super) struct Walk<'m> {
    map: &'m ArtifactMap,
    /// The entry every earlier one is before, and the entries after it.
    next: Option<(&'m String, &'m DigestSet)>,
    rest: Range<'m, String, DigestSet>,
    /// The greatest path before `next` (`None`: `next` is the first entry).
    behind: Option<&'m str>,
}

impl<'m> Walk<'m> {
    pub(super) fn new(map: &'m ArtifactMap) -> Walk<'m> {
        let mut rest = map.range::<str, _>((Bound::Unbounded, Bound::Unbounded));
        Walk {
            map,
            next: rest.next(),
            rest,
            behind: None,
        }
    }

    /// The digests of `path`, if the map has it.
    pub(super) fn get(&mut self, path: &str) -> Option<&'m DigestSet> {
        if self.behind.is_some_and(|behind| path <= behind) {
            // Behind the walk: an ordinary lookup.
            return self.map.get(path);
        }
        let mut steps = 0;
        while let Some((key, _)) = self.next.filter(|(key, _)| key.as_str() < path) {
            steps += 1;
            if steps > MAX_STEPS {
                // Far ahead: seek, and find what is now behind.
                self.rest = self
                    .map
                    .range::<str, _>((Bound::Included(path), Bound::Unbounded));
                self.next = self.rest.next();
                self.behind = self
                    .map
                    .range::<str, _>((Bound::Unbounded, Bound::Excluded(path)))
                    .next_back()
                    .map(|(key, _)| key.as_str());
                break;
            }
            self.behind = Some(key.as_str());
            self.next = self.rest.next();
        }
        self.next
            .filter(|(key, _)| key.as_str() == path)
            .map(|(_, digests)| digests)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(n: usize) -> DigestSet {
        DigestSet::single("sha256", &format!("{n:064x}")).expect("valid digest")
    }

    #[test]
    fn any_order_of_questions_gets_the_maps_answers() {
        let map: ArtifactMap = (0..200)
            .step_by(3)
            .map(|n| (format!("p{n:04}"), digest(n)))
            .collect();
        let ascending: Vec<String> = (0..210).map(|n| format!("p{n:04}")).collect();
        let mut descending = ascending.clone();
        descending.reverse();
        // Far jumps (seeks), small steps, repeats, and going back.
        let mixed: Vec<String> = [0, 1, 3, 3, 150, 151, 2, 201, 90, 93, 96, 500, 0]
            .iter()
            .map(|n| format!("p{n:04}"))
            .chain(["".to_owned(), "p".to_owned(), "q".to_owned()])
            .collect();
        for questions in [&ascending, &descending, &mixed] {
            let mut walk = Walk::new(&map);
            for path in questions {
                assert_eq!(walk.get(path), map.get(path), "{path}");
            }
        }
        let empty = ArtifactMap::new();
        let mut walk = Walk::new(&empty);
        assert_eq!(walk.get("p0000"), None);
        assert_eq!(walk.get(""), None);
    }
}
