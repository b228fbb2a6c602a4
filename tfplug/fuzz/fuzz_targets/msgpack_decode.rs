//! Arbitrary bytes into the msgpack decoder: it must return, never panic; what it accepts
//! must encode and decode back to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../src/value/mod.rs"]
#[allow(dead_code, unused_imports)]
mod value;

mod schemas;

use value::msgpack;

fuzz_target!(|data: &[u8]| {
    for ty in schemas::types() {
        if let Ok(v) = msgpack::decode(data, &ty) {
            let bytes = msgpack::encode(&v, &ty).expect("a decoded value encodes");
            let again = msgpack::decode(&bytes, &ty).expect("an encoded value decodes");
            assert_eq!(again, v);
        }
    }
});
