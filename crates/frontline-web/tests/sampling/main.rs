//! Sampling rounds (核酸采样) through the real router, one test binary: rounds
//! and scans, the lab's results and retests, sealed tubes, teams and coverage
//! by household. One binary rather than four: each links the whole
//! application.

#[path = "../support/mod.rs"]
mod support;

mod lab;
mod reads;
mod rounds;
mod seal;
mod teams;
