//! Fuzzes the `/api` request decoder (`op::api::decode`); see `dlsim::fuzzing` for the input format and what counts as a failure.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dlsim::fuzzing::api_decoder(data));
