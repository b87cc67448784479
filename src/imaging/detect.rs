//! Smart-crop detectors: the analyses Thumbor runs on an image to find its focal points before
//! cropping. Today the feature detector (`feature`): OpenCV's corner detector called the way
//! Thumbor calls it, on PIL's grayscale of the image. Pure functions over pixels; nothing here
//! decodes, resizes or knows about requests.

pub mod feature;
