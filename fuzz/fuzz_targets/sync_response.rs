//! Catch-up responses from a peer, at every stage of a session (the first byte says how many
//! honest round trips come first): any bytes decode or fail cleanly; the session takes or
//! refuses them, what it hands out merges, and an honest peer then brings it to its end.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warpnet_stats::sync::SyncResponse;
use warpnet_stats_fuzz::{ahead, behind, namespace, session_after};

fuzz_target!(|data: &[u8]| {
    let Some((&rounds, bytes)) = data.split_first() else { return };
    let Ok(response) = SyncResponse::decode(bytes) else { return };
    let (mut mine, mut theirs) = (behind(), ahead());
    let Some((mut session, _)) = session_after(&mut mine, &mut theirs, usize::from(rounds % 32))
    else {
        return;
    };
    let Ok(step) = session.handle(&mut mine, response) else { return };
    mine.merge(&namespace(), step.fetched);
    let mut next = step.next;
    while let Some(request) = next {
        assert!(session.rounds() < 200, "a catch-up that does not end");
        let Ok(answer) = request.answer_from(&mut theirs) else { return };
        let Ok(step) = session.handle(&mut mine, answer) else { return };
        mine.merge(&namespace(), step.fetched);
        next = step.next;
    }
});
