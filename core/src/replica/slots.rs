//! The counters of one tweet, by statistic and writer: a few in a vector no larger than they
//! need (most tweets have a few writers, and a map of one takes four times its room), many in
//! a map.

use std::collections::HashMap;

use super::Slot;
use crate::ids::{StatKind, Writer};

/// Beyond this many counters a tweet's go in a map.
const FEW: usize = 16;

type Key = (StatKind, Writer);

#[derive(Debug)]
pub(super) enum Slots {
    Few(Vec<(Key, Slot)>),
    Many(HashMap<Key, Slot>),
}

impl Default for Slots {
    fn default() -> Self {
        Self::Few(Vec::new())
    }
}

impl Slots {
    pub(super) fn get(&self, key: &Key) -> Option<&Slot> {
        match self {
            Self::Few(few) => few.iter().find(|(held, _)| held == key).map(|(_, slot)| slot),
            Self::Many(many) => many.get(key),
        }
    }

    /// The slot of `key`, made by `new` if there is none.
    pub(super) fn get_or_insert_with(&mut self, key: Key, new: impl FnOnce() -> Slot) -> &mut Slot {
        if let Self::Few(few) = self
            && few.len() >= FEW
            && !few.iter().any(|(held, _)| *held == key)
        {
            *self = Self::Many(std::mem::take(few).into_iter().collect());
        }
        match self {
            Self::Few(few) => {
                let at = match few.iter().position(|(held, _)| *held == key) {
                    Some(at) => at,
                    None => {
                        few.reserve_exact(1);
                        few.push((key, new()));
                        few.len() - 1
                    }
                };
                &mut few[at].1
            }
            Self::Many(many) => many.entry(key).or_insert_with(new),
        }
    }

    /// Takes out the slots whose key `drop` picks, in no particular order.
    pub(super) fn drain_where(&mut self, mut drop: impl FnMut(&Key) -> bool) -> Vec<(Key, Slot)> {
        match self {
            Self::Few(few) => {
                let (gone, kept) = std::mem::take(few).into_iter().partition(|(key, _)| drop(key));
                *few = kept;
                few.shrink_to_fit();
                gone
            }
            Self::Many(many) => {
                let keys: Vec<Key> = many.keys().filter(|key| drop(key)).copied().collect();
                keys.into_iter().filter_map(|key| Some((key, many.remove(&key)?))).collect()
            }
        }
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Self::Few(few) => few.len(),
            Self::Many(many) => many.len(),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        match self {
            Self::Few(few) => few.is_empty(),
            Self::Many(many) => many.is_empty(),
        }
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&Key, &Slot)> {
        let (few, many) = match self {
            Self::Few(few) => (Some(few.iter().map(|(key, slot)| (key, slot))), None),
            Self::Many(many) => (None, Some(many.iter())),
        };
        few.into_iter().flatten().chain(many.into_iter().flatten())
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = (&Key, &mut Slot)> {
        let (few, many) = match self {
            Self::Few(few) => (Some(few.iter_mut().map(|(key, slot)| (&*key, slot))), None),
            Self::Many(many) => (None, Some(many.iter_mut())),
        };
        few.into_iter().flatten().chain(many.into_iter().flatten())
    }
}
