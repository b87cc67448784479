//! Loaders of originals behind one trait.
