//! Colony's hosts for the protocol core: the deterministic parallel fast
//! engine, the turmoil host and the real-UDP host, plus faults, Byzantine
//! wrappers, scenario loading and the `colony` command. These land with their
//! issues; today the crate provides only the command's entry point.

#![forbid(unsafe_code)]
