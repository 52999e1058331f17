//! WeChat Pay v2 wire format (being written).
