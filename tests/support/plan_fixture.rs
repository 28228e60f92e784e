//! The rich plan every render test snapshots (filled in below).
