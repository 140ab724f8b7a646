//! Item leases, so replicas never apply one item at the same time (two
//! concurrent "find, else create" would create two findings): the queue
//! crate's one lease implementation, under `P:lock:<name>`.

pub use wstg_queue::lease::{Lease, LeaseLost, Leases as ItemLocks};
