//! Hash maps and sets for lookups by id at tenant scale, with foldhash's fast hasher (seeded
//! per process, as std's): SipHash over ARM ids took a fifth of a 100,000-item plan's diff.
//! Iteration order is arbitrary, as std's: anything presented or ordered goes through a
//! `BTreeMap` or a sort.

use std::collections::{HashMap, HashSet};

pub type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
pub type FastSet<K> = HashSet<K, foldhash::fast::RandomState>;
