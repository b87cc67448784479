//! [`ImageRequest`]-like options -> canonical Thumbor path (libthumbor's option order, spec §1.5).
