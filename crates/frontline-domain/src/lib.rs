//! Frontline's domain: pure types and rules, no I/O and no async.
//!
//! Every value that enters the system from outside (an ID number typed on a
//! phone, a cell of a spreadsheet) is parsed here into a type, or refused with
//! a specific reason. Rules that differ by city are configuration
//! ([`config`]) with the national defaults.

pub mod access;
pub mod census;
pub mod date;
pub mod glossary;
pub mod i18n;
pub mod ids;
pub mod passwords;
pub mod people;
pub mod places;
pub mod privacy;
pub mod regions;
pub mod rng;
pub mod sampling;
pub mod synth;
