//! The HTTP side: routes, handlers, response headers, error -> status mapping.
