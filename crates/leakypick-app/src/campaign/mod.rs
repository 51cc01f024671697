//! Wake-word fuzzing campaigns (`leakypick fuzz`, issue 11).

pub mod candidates;
