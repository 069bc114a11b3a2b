//! The web crate's integration tests, one binary: each test binary links the
//! whole application, so the API, pages, census, sampling, permissions, OpenAPI
//! and browser tests live here as modules rather than as seven binaries.

mod support;

mod api;
mod audit_page;
mod audit_trail;
mod browser;
mod building_page;
mod census;
mod census_demo;
mod census_duplicates;
mod census_reconcile;
mod defences;
mod groups_page;
mod home_pages;
mod logins;
mod openapi;
mod pages;
mod permissions;
mod privacy;
mod resident_page;
mod sampling;
mod search;
mod shell;
