//! Light-node messages from a peer (a browser tab's requests, an edge node's pushes and
//! answers): any bytes decode or fail cleanly, and what decodes reads back as written.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warpnet_stats::light::{LightRequest, LightResponse};
use warpnet_stats_fuzz::namespace;

fuzz_target!(|data: &[u8]| {
    if let Ok((ns, request)) = LightRequest::decode(data) {
        assert_eq!(LightRequest::decode(&request.encode(&ns)).expect("round trip").1, request);
    }
    if let Ok(response) = LightResponse::decode(data) {
        let again = LightResponse::decode(&response.encode(&namespace())).expect("round trip");
        assert_eq!(again, response);
    }
});
