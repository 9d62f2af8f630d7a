//! Fuzzes the JSON-RPC request decoder (`op::jsonrpc::decode`); see `dlsim::fuzzing` for the input format and what counts as a failure.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dlsim::fuzzing::jsonrpc_decoder(data));
