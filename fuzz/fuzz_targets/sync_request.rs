//! Catch-up requests from a peer: any bytes decode or fail cleanly; a request that decodes is
//! answered or refused, and every answer fits the wire limit and decodes on the other side.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warpnet_stats::{
    sync::{SyncRequest, SyncResponse},
    wire::MAX_MESSAGE_BYTES,
};
use warpnet_stats_fuzz::{ahead, namespace};

fuzz_target!(|data: &[u8]| {
    let Ok((_, request)) = SyncRequest::decode(data) else { return };
    assert_eq!(SyncRequest::decode(&request.encode(&namespace())).expect("round trip").1, request);
    let Ok(response) = request.answer_from(&mut ahead()) else { return };
    let bytes = response.encode(&namespace());
    assert!(bytes.len() <= MAX_MESSAGE_BYTES, "an answer of {} bytes", bytes.len());
    SyncResponse::decode(&bytes).expect("an answer decodes");
});
