pub use strata_engine as engine;
