//! Identifiers and the entry key's text form `/{namespace}/{tweetID}/{statType}/{nodeID}/{generation}`.
//! Pure values: no I/O, no state.

use std::fmt;
use std::str::FromStr;

use libp2p_identity::PeerId;

/// Longest namespace, in bytes.
pub const MAX_NAMESPACE_LEN: usize = 64;
/// Longest tweet, user or reply id, in bytes.
pub const MAX_ID_LEN: usize = 128;

/// Why an identifier or key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// An id or namespace was empty.
    #[error("{what} is empty")]
    Empty {
        /// Which part was empty.
        what: &'static str,
    },
    /// An id or namespace was longer than its limit.
    #[error("{what} is {len} bytes long, the limit is {max}")]
    TooLong {
        /// Which part was too long.
        what: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// An id held a character that would break the key format (`/`, a control character),
    /// or a namespace held anything but ASCII letters, digits, `-`, `_` and `.`.
    #[error("{what} contains {found:?}, which is not allowed")]
    BadChar {
        /// Which part held the character.
        what: &'static str,
        /// The character.
        found: char,
    },
    /// A statistic name other than `likes`, `retweets`, `replies`, `views`.
    #[error("unknown statistic {0:?} (expected likes, retweets, replies or views)")]
    UnknownStat(String),
    /// A node id that is not the base58 PeerId of an ed25519 key.
    #[error("invalid node id {0:?}: expected the base58 PeerId of an ed25519 key")]
    BadNodeId(String),
    /// A generation that is not 32 lower-case hex digits.
    #[error("invalid generation {0:?}: expected 32 lower-case hex digits")]
    BadGeneration(String),
    /// A key text that does not have the five parts `/{namespace}/{tweetID}/{statType}/{nodeID}/{generation}`.
    #[error("malformed key {0:?}: expected /namespace/tweet/stat/node/generation")]
    Malformed(String),
}

fn check_id(what: &'static str, text: &str, max: usize) -> Result<(), KeyError> {
    if text.is_empty() {
        return Err(KeyError::Empty { what });
    }
    if text.len() > max {
        return Err(KeyError::TooLong { what, len: text.len(), max });
    }
    match text.chars().find(|c| *c == '/' || c.is_control()) {
        Some(found) => Err(KeyError::BadChar { what, found }),
        None => Ok(()),
    }
}

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(std::sync::Arc<str>);

        impl $name {
            /// Checks the text (1 to 128 bytes, no `/`, no control characters) and wraps it.
            pub fn new(text: impl AsRef<str>) -> Result<Self, KeyError> {
                let text = text.as_ref();
                check_id($what, text, MAX_ID_LEN)?;
                Ok(Self(text.into()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = KeyError;
            fn from_str(text: &str) -> Result<Self, KeyError> {
                Self::new(text)
            }
        }
    };
}

text_id!(
    /// A tweet's id: 1 to 128 bytes of UTF-8 without `/` or control characters.
    TweetId,
    "tweet id"
);
text_id!(
    /// A user's id on this node (who liked or retweeted); same rules as [`TweetId`].
    UserId,
    "user id"
);
text_id!(
    /// A reply's id, so that adding the same reply twice counts once; same rules as [`TweetId`].
    ReplyId,
    "reply id"
);

/// The network a statistic belongs to (`mainnet`, `testnet`, ...): 1 to 64 ASCII letters,
/// digits, `-`, `_` or `.`. It names the gossip topic and is part of every signature, so an
/// entry signed for one namespace is refused in another.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Namespace(Box<str>);

impl Namespace {
    /// Checks the text and wraps it.
    pub fn new(text: impl AsRef<str>) -> Result<Self, KeyError> {
        let text = text.as_ref();
        check_id("namespace", text, MAX_NAMESPACE_LEN)?;
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        match text.chars().find(|c| !allowed(*c)) {
            Some(found) => Err(KeyError::BadChar { what: "namespace", found }),
            None => Ok(Self(text.into())),
        }
    }

    /// The namespace as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Namespace {
    type Err = KeyError;
    fn from_str(text: &str) -> Result<Self, KeyError> {
        Self::new(text)
    }
}

/// The four statistics kept per tweet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StatKind {
    /// `likes`
    Likes,
    /// `retweets`
    Retweets,
    /// `replies`
    Replies,
    /// `views`
    Views,
}

impl StatKind {
    /// All kinds, in wire-code order.
    pub const ALL: [StatKind; 4] = [Self::Likes, Self::Retweets, Self::Replies, Self::Views];

    /// The lower-case name used in keys: `likes`, `retweets`, `replies`, `views`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Likes => "likes",
            Self::Retweets => "retweets",
            Self::Replies => "replies",
            Self::Views => "views",
        }
    }

    /// The wire code: 1 to 4 in the order of [`StatKind::ALL`].
    pub fn code(self) -> u8 {
        self as u8 + 1
    }

    /// The kind for a wire code, if it is one.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code).checked_sub(1)?).copied()
    }

    /// Its position in [`StatKind::ALL`] (likes 0 to views 3).
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for StatKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StatKind {
    type Err = KeyError;
    fn from_str(text: &str) -> Result<Self, KeyError> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| KeyError::UnknownStat(text.to_owned()))
    }
}

/// A node's id: the libp2p PeerId of its ed25519 key. The public key is embedded in it, so
/// anyone can check that node's signatures from the id alone; it is kept as those 32 bytes
/// (the rest of the PeerId is the same for every node), which order as the PeerIds do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId([u8; 32]);

impl NodeId {
    /// The node id for a PeerId, if that PeerId embeds an ed25519 public key.
    pub fn from_peer_id(peer: PeerId) -> Result<Self, KeyError> {
        let multihash = peer.as_ref();
        let digest = multihash.digest();
        match (multihash.code(), digest.split_first_chunk::<4>()) {
            (0, Some((prefix, key))) if *prefix == ED25519_KEY_PREFIX => {
                key.try_into().map(Self).map_err(|_| KeyError::BadNodeId(peer.to_base58()))
            }
            _ => Err(KeyError::BadNodeId(peer.to_base58())),
        }
    }

    /// Parses the PeerId's binary form (a multihash), as carried on the wire.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let peer = PeerId::from_bytes(bytes)
            .map_err(|_| KeyError::BadNodeId(format!("0x{}", hex(bytes))))?;
        Self::from_peer_id(peer)
    }

    /// The PeerId's binary form: an identity multihash of the key's protobuf encoding.
    pub fn to_bytes(self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(38);
        bytes.extend([0x00, 0x24]);
        bytes.extend(ED25519_KEY_PREFIX);
        bytes.extend(self.0);
        bytes
    }

    /// The libp2p PeerId.
    pub fn peer_id(&self) -> PeerId {
        PeerId::from_bytes(&self.to_bytes()).expect("an identity multihash of 36 bytes")
    }

    /// The ed25519 public key's bytes (not checked to be a valid curve point).
    pub(crate) fn key_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.peer_id(), f)
    }
}

impl FromStr for NodeId {
    type Err = KeyError;
    fn from_str(text: &str) -> Result<Self, KeyError> {
        let peer = PeerId::from_str(text).map_err(|_| KeyError::BadNodeId(text.to_owned()))?;
        Self::from_peer_id(peer).map_err(|_| KeyError::BadNodeId(text.to_owned()))
    }
}

/// A random 128-bit value minted when a node's local store is created, so that a node id used
/// from a second store (another browser, a store restored after loss) counts from zero in a
/// counter of its own instead of reusing one whose higher values peers already hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Generation(pub [u8; 16]);

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl FromStr for Generation {
    type Err = KeyError;
    fn from_str(text: &str) -> Result<Self, KeyError> {
        let bad = || KeyError::BadGeneration(text.to_owned());
        if text.len() != 32 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(bad());
        }
        let mut out = [0u8; 16];
        for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| bad())?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
        }
        Ok(Self(out))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Who wrote a counter: a node in one generation of its store. Only the writer's own node may
/// sign its entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Writer {
    /// The node that signs the counter.
    pub node: NodeId,
    /// The generation of that node's store.
    pub generation: Generation,
}

/// The identity of one counter in a namespace: which tweet, which statistic, which writer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryKey {
    /// The tweet counted.
    pub tweet: TweetId,
    /// The statistic counted.
    pub stat: StatKind,
    /// Who counts it.
    pub writer: Writer,
}

impl EntryKey {
    /// The key's text form, `/{namespace}/{tweetID}/{statType}/{nodeID}/{generation}`, used for
    /// storage keys and debugging. [`EntryKey::parse`] reverses it.
    ///
    /// The first four parts are the key format of the design this project started from; the
    /// generation is appended so that a node's prefix still lists all its counters.
    pub fn path(&self, namespace: &Namespace) -> String {
        format!(
            "/{namespace}/{}/{}/{}/{}",
            self.tweet, self.stat, self.writer.node, self.writer.generation
        )
    }

    /// Parses a key's text form into its namespace and key.
    pub fn parse(text: &str) -> Result<(Namespace, EntryKey), KeyError> {
        Self::parse_with(text, str::parse)
    }

    /// [`EntryKey::parse`] with the node id parsed by `node` (e.g. a memo, when reading many
    /// keys of few nodes: base58 decoding is the costly part).
    pub fn parse_with(
        text: &str,
        parse_node: impl FnOnce(&str) -> Result<NodeId, KeyError>,
    ) -> Result<(Namespace, EntryKey), KeyError> {
        let malformed = || KeyError::Malformed(text.to_owned());
        let rest = text.strip_prefix('/').ok_or_else(malformed)?;
        let parts: Vec<&str> = rest.split('/').collect();
        let [namespace, tweet, stat, node, generation] = parts[..] else {
            return Err(malformed());
        };
        Ok((
            namespace.parse()?,
            EntryKey {
                tweet: tweet.parse()?,
                stat: stat.parse()?,
                writer: Writer { node: parse_node(node)?, generation: generation.parse()? },
            },
        ))
    }
}

/// The protobuf prefix of an ed25519 public key inside a PeerId: key type 1 (Ed25519), then
/// 32 bytes of key data.
const ED25519_KEY_PREFIX: [u8; 4] = [0x08, 0x01, 0x12, 0x20];
