//! Fuzzes the scenario loader (`Scenario::parse`); see `dlsim::fuzzing` for the input format and what counts as a failure.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dlsim::fuzzing::scenario_parser(data));
