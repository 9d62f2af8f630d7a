//! Fuzzes the configuration loader (`FileConfig::parse`); see `dlsim::fuzzing` for the input format and what counts as a failure.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dlsim::fuzzing::config_parser(data));
