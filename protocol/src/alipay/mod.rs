//! Alipay wire format (being written).
