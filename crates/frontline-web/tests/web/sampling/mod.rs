//! Sampling rounds (核酸采样) through the real router: rounds and scans, the
//! lab's results and retests, sealed tubes, teams and coverage by household.

mod lab;
mod reads;
mod round_pages;
mod rounds;
mod seal;
mod teams;
mod writer;
