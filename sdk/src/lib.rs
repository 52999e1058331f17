//! paysandbox SDK (being written).
