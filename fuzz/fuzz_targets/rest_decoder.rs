//! Fuzzes the `/rest` request decoder (`op::rest::decode`); see `dlsim::fuzzing` for the input format and what counts as a failure.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dlsim::fuzzing::rest_decoder(data));
