//! Arbitrary bytes into the state JSON decoder: it must return, never panic; what it accepts
//! must also survive msgpack, which is how the provider answers UpgradeResourceState.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../src/value/mod.rs"]
#[allow(dead_code, unused_imports)]
mod value;

mod schemas;

use value::{json, msgpack};

fuzz_target!(|data: &[u8]| {
    for ty in schemas::types() {
        if let Ok(v) = json::decode(data, &ty) {
            let bytes = msgpack::encode(&v, &ty).expect("a decoded state encodes as msgpack");
            assert_eq!(msgpack::decode(&bytes, &ty).expect("and decodes back"), v);
            // JSON has no infinity: "+Inf" in a string decodes (as in cty) but cannot be written back.
            match json::encode(&v, &ty) {
                Ok(text) => assert_eq!(json::decode(&text, &ty).expect("and decodes back"), v),
                Err(e) => assert!(e.message().contains("infinite"), "{e}"),
            }
        }
    }
});
