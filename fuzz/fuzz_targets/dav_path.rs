#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| schedplus_fuzz::dav_path(data));
