//! Sampling rounds (核酸采样) through the real router: rounds and scans, the
//! lab's results and retests, sealed tubes, teams and coverage by household.

pub mod fill;
mod lab;
pub(crate) mod lab_work;
mod reads;
mod round_pages;
mod rounds;
mod sampler_page;
mod seal;
mod teams;
mod writer;
