#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| pyro5_core::fuzzing::client_connection(data));
