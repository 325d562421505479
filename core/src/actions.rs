//! User actions on this node (like, retweet, reply, view) as pure state on top of the replica.
//! Who liked or retweeted what, and which replies exist, is tracked here so actions are
//! idempotent: liking twice, or unliking what was not liked, changes no counter.

use std::collections::{HashMap, HashSet};

use super::ids::{Generation, Namespace, ReplyId, StatKind, TweetId, UserId};
use super::replica::{Entry, Replica};
use super::rules::{OutOfBounds, Rules};
use super::signing::Identity;
use super::totals::Stats;

/// Something a user does to a tweet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    /// The user likes the tweet (once; again changes nothing).
    Like(UserId),
    /// The user takes back a like (only if they liked it).
    Unlike(UserId),
    /// The user retweets the tweet (once).
    Retweet(UserId),
    /// The user takes back a retweet.
    Unretweet(UserId),
    /// A reply to the tweet was posted (each reply id counts once).
    Reply(ReplyId),
    /// A reply was deleted.
    DeleteReply(ReplyId),
    /// The tweet was viewed (every view counts).
    View,
}

impl Action {
    /// The statistic this action counts in.
    pub fn stat(&self) -> StatKind {
        match self {
            Self::Like(_) | Self::Unlike(_) => StatKind::Likes,
            Self::Retweet(_) | Self::Unretweet(_) => StatKind::Retweets,
            Self::Reply(_) | Self::DeleteReply(_) => StatKind::Replies,
            Self::View => StatKind::Views,
        }
    }

    /// The mark this action sets or clears, if it is idempotent; `None` for a view.
    pub(crate) fn mark(&self) -> Option<(Mark, &str, bool)> {
        Some(match self {
            Self::Like(user) => (Mark::Liked, user.as_str(), true),
            Self::Unlike(user) => (Mark::Liked, user.as_str(), false),
            Self::Retweet(user) => (Mark::Retweeted, user.as_str(), true),
            Self::Unretweet(user) => (Mark::Retweeted, user.as_str(), false),
            Self::Reply(reply) => (Mark::Replied, reply.as_str(), true),
            Self::DeleteReply(reply) => (Mark::Replied, reply.as_str(), false),
            Self::View => return None,
        })
    }
}

/// The kinds of per-tweet marks a node keeps: who liked, who retweeted, which replies exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mark {
    /// A user liked the tweet.
    Liked,
    /// A user retweeted the tweet.
    Retweeted,
    /// A reply with this id exists.
    Replied,
}

impl Mark {
    /// All marks.
    pub const ALL: [Mark; 3] = [Self::Liked, Self::Retweeted, Self::Replied];

    fn index(self) -> usize {
        self as usize
    }
}

/// A mark set or cleared by an action: what storage must record to keep actions idempotent
/// across restarts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Which kind of mark.
    pub mark: Mark,
    /// On which tweet.
    pub tweet: TweetId,
    /// The user id (likes, retweets) or reply id (replies).
    pub subject: String,
    /// Whether the mark is now set.
    pub present: bool,
}

/// What an action did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The action's statistic for the tweet after the action, over all nodes.
    pub count: u64,
    /// The counter the action changed; `None` if it changed nothing (e.g. a second like).
    pub entry: Option<Entry>,
    /// The mark the action set or cleared; `None` for views and for actions that changed nothing.
    pub record: Option<Record>,
}

/// One node's state: the replica of all counters plus this node's own user marks.
#[derive(Debug)]
pub struct NodeState {
    replica: Replica,
    marks: [HashMap<TweetId, HashSet<Box<str>>>; 3],
}

impl NodeState {
    /// A fresh node state for `namespace` under its `rules`, writing as `identity` in
    /// `generation`.
    pub fn new(
        namespace: Namespace,
        rules: Rules,
        identity: Identity,
        generation: Generation,
    ) -> Self {
        Self::from_replica(Replica::new(namespace, rules, identity, generation))
    }

    /// A node state around an existing replica, with no marks yet.
    pub fn from_replica(replica: Replica) -> Self {
        Self { replica, marks: Default::default() }
    }

    /// Applies a user's action to a tweet. Idempotent actions that would change nothing
    /// (a second like, an unlike without a like) leave every counter as it was. An action that
    /// would take this node's counter out of the namespace's bounds (above its cap, below
    /// zero) fails and changes nothing.
    pub fn apply(&mut self, tweet: &TweetId, action: &Action) -> Result<Outcome, OutOfBounds> {
        let stat = action.stat();
        let Some((mark, subject, present)) = action.mark() else {
            let entry = self.replica.increment(tweet, stat)?;
            let count = self.replica.count(tweet, stat);
            return Ok(Outcome { count, entry: Some(entry), record: None });
        };
        if self.has_mark(mark, tweet, subject) == present {
            let count = self.replica.count(tweet, stat);
            return Ok(Outcome { count, entry: None, record: None });
        }
        let entry = if present {
            self.replica.increment(tweet, stat)?
        } else {
            self.replica.decrement(tweet, stat)?
        };
        let record = Record { mark, tweet: tweet.clone(), subject: subject.to_owned(), present };
        self.load_record(&record);
        let count = self.replica.count(tweet, stat);
        Ok(Outcome { count, entry: Some(entry), record: Some(record) })
    }

    /// Whether this node holds the mark (e.g. whether `user` liked `tweet` here).
    pub fn has_mark(&self, mark: Mark, tweet: &TweetId, subject: &str) -> bool {
        self.marks[mark.index()].get(tweet).is_some_and(|set| set.contains(subject))
    }

    /// Every mark of one kind this node holds: (tweet, subject), in no order.
    pub fn all_marks(&self, mark: Mark) -> impl Iterator<Item = (&TweetId, &str)> {
        self.marks[mark.index()].iter().flat_map(|(t, set)| set.iter().map(move |s| (t, &**s)))
    }

    /// Puts back a mark read from this node's store (counters are restored on the replica).
    fn load_record(&mut self, record: &Record) {
        let marks = &mut self.marks[record.mark.index()];
        if record.present {
            marks.entry(record.tweet.clone()).or_default().insert(record.subject.as_str().into());
        } else if let Some(set) = marks.get_mut(&record.tweet) {
            set.remove(record.subject.as_str());
            if set.is_empty() {
                marks.remove(&record.tweet);
            }
        }
    }

    /// The subjects holding a mark on a tweet (e.g. who liked it here), in no particular order.
    pub fn marks(&self, mark: Mark, tweet: &TweetId) -> Vec<String> {
        self.marks[mark.index()]
            .get(tweet)
            .map_or_else(Vec::new, |set| set.iter().map(|s| s.to_string()).collect())
    }

    /// Replaces the subjects holding a mark on a tweet (e.g. with a newer set from the store).
    pub fn set_marks(&mut self, mark: Mark, tweet: &TweetId, subjects: &[String]) {
        let marks = &mut self.marks[mark.index()];
        if subjects.is_empty() {
            marks.remove(tweet);
        } else {
            marks.insert(tweet.clone(), subjects.iter().map(|s| s.as_str().into()).collect());
        }
    }

    /// A tweet's aggregated statistics.
    pub fn stats(&self, tweet: &TweetId) -> Stats {
        self.replica.stats(tweet)
    }

    /// The replica of all counters.
    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// The replica, to merge remote entries or sign local ones.
    pub fn replica_mut(&mut self) -> &mut Replica {
        &mut self.replica
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(seed: u8) -> NodeState {
        let namespace = Namespace::new("mainnet").expect("valid");
        NodeState::new(
            namespace,
            Rules::DEFAULT,
            Identity::from_secret([seed; 32]),
            Generation([seed; 16]),
        )
    }

    #[test]
    fn loaded_records_keep_actions_idempotent_after_a_restart() {
        let (t, alice) = (TweetId::new("t").expect("valid"), UserId::new("alice").expect("valid"));
        let mut before = node(1);
        let like = before.apply(&t, &Action::Like(alice.clone())).expect("within the caps");
        let mut after = node(1);
        after.replica_mut().load(like.entry.expect("changed"), &[]);
        after.load_record(&like.record.expect("recorded"));
        assert_eq!(after.apply(&t, &Action::Like(alice.clone())).map(|o| o.entry), Ok(None));
        assert_eq!(after.apply(&t, &Action::Unlike(alice)).map(|o| o.count), Ok(0));
        // A cleared record removes the mark.
        after.load_record(&Record {
            mark: Mark::Liked,
            tweet: t.clone(),
            subject: "bob".into(),
            present: false,
        });
        assert!(!after.has_mark(Mark::Liked, &t, "bob"));
    }
}
