//! Reading a Haar cascade: the token format `models/convert_haar_cascade.py` writes from
//! OpenCV's XML (stages of boosted trees over HAAR features). It is a parser of bytes compiled
//! into the binary, but treated as untrusted all the same: every count is bounded, every index
//! checked against what it points into, every rectangle against the window, and tree nodes may
//! only point forward, so a damaged model is an error and never a panic or an endless walk.

use thiserror::Error;

/// Why a cascade does not read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CascadeError {
    #[error("haar cascade: expected {expected}, found {found:?}")]
    Unexpected {
        expected: &'static str,
        found: String,
    },
    #[error("haar cascade: the text ends before {0}")]
    Truncated(&'static str),
    #[error("haar cascade: {what} {value} is out of range")]
    OutOfRange { what: &'static str, value: String },
    #[error("haar cascade: text after the last feature")]
    TrailingText,
}

/// Bounds of what a cascade may hold (OpenCV's shipped cascades stay well inside them).
const MAX_WINDOW_SIDE: i64 = 128;
const MAX_STAGES: i64 = 1_000;
const MAX_TREES: usize = 200_000;
const MAX_NODES_PER_TREE: i64 = 64;
const MAX_FEATURES: i64 = 200_000;

/// OpenCV lowers every stage threshold by this much when it reads a cascade.
const STAGE_THRESHOLD_EPS: f32 = 1e-5;

/// One stage: its trees are `trees[first..first + count]`; a window whose summed leaves fall
/// below `threshold` is rejected.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Stage {
    pub threshold: f32,
    pub first: usize,
    pub count: usize,
}

/// One weak classifier: its nodes are `nodes[first_node..][..node_count]`, its leaves
/// `leaves[first_leaf..][..node_count + 1]`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Tree {
    pub first_node: usize,
    pub node_count: usize,
    pub first_leaf: usize,
}

/// An internal node: `feature < threshold` goes `left`, else `right`; a child above 0 is a
/// node of the same tree (always a later one), 0 or below the leaf `-child`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Node {
    pub feature: usize,
    pub threshold: f32,
    pub left: i32,
    pub right: i32,
}

/// A rectangle of a HAAR feature, in window pixels, and its weight. For a tilted feature the
/// rectangle is turned 45°: its corners are (x, y), (x + w, y + w), (x - h, y + h) and
/// (x + w - h, y + w + h).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct WeightedRect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    pub weight: f32,
}

/// A HAAR feature: the weighted sum of the pixels of 2 or 3 rectangles (`rects[2]` has weight
/// 0 when there are 2).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Feature {
    pub tilted: bool,
    pub rects: [WeightedRect; 3],
}

/// A cascade as read: everything `Cascade` evaluates.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Model {
    pub window_width: u32,
    pub window_height: u32,
    pub stages: Vec<Stage>,
    pub trees: Vec<Tree>,
    pub nodes: Vec<Node>,
    pub leaves: Vec<f32>,
    pub features: Vec<Feature>,
}

/// The tokens of the text: whitespace-separated, `#` lines (the licence) left out.
struct Tokens<'a> {
    words: Box<dyn Iterator<Item = &'a str> + 'a>,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Self {
        let words = text
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .flat_map(str::split_whitespace);
        Tokens {
            words: Box::new(words),
        }
    }

    fn next(&mut self, what: &'static str) -> Result<&'a str, CascadeError> {
        self.words.next().ok_or(CascadeError::Truncated(what))
    }

    fn keyword(&mut self, expected: &'static str) -> Result<(), CascadeError> {
        let found = self.next(expected)?;
        if found == expected {
            Ok(())
        } else {
            Err(unexpected(expected, found))
        }
    }

    fn integer(
        &mut self,
        what: &'static str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<i64, CascadeError> {
        let token = self.next(what)?;
        let value: i64 = token.parse().map_err(|_| unexpected(what, token))?;
        if range.contains(&value) {
            Ok(value)
        } else {
            Err(CascadeError::OutOfRange {
                what,
                value: token.to_string(),
            })
        }
    }

    /// A real number as OpenCV reads it: parsed as a double, then narrowed to a float.
    fn real(&mut self, what: &'static str) -> Result<f32, CascadeError> {
        let token = self.next(what)?;
        let value: f64 = token.parse().map_err(|_| unexpected(what, token))?;
        let narrowed = value as f32;
        if narrowed.is_finite() {
            Ok(narrowed)
        } else {
            Err(CascadeError::OutOfRange {
                what,
                value: token.to_string(),
            })
        }
    }
}

fn unexpected(expected: &'static str, found: &str) -> CascadeError {
    CascadeError::Unexpected {
        expected,
        found: found.chars().take(40).collect(),
    }
}

/// Reads a cascade from its token text.
pub(super) fn parse(text: &str) -> Result<Model, CascadeError> {
    let mut tokens = Tokens::new(text);
    tokens.keyword("haar-cascade")?;
    tokens.integer("format version", 1..=1)?;
    tokens.keyword("window")?;
    // The variance is taken over the window less a 1-pixel border: at least 1x1 of it.
    let window_width = tokens.integer("window width", 3..=MAX_WINDOW_SIDE)? as u32;
    let window_height = tokens.integer("window height", 3..=MAX_WINDOW_SIDE)? as u32;
    tokens.keyword("stages")?;
    let stage_count = tokens.integer("stage count", 1..=MAX_STAGES)? as usize;
    let mut model = Model {
        window_width,
        window_height,
        stages: Vec::with_capacity(stage_count),
        trees: Vec::new(),
        nodes: Vec::new(),
        leaves: Vec::new(),
        features: Vec::new(),
    };
    for _ in 0..stage_count {
        tokens.keyword("stage")?;
        let threshold = tokens.real("stage threshold")? - STAGE_THRESHOLD_EPS;
        let tree_count = tokens.integer("tree count", 1..=MAX_TREES as i64)? as usize;
        if model.trees.len() + tree_count > MAX_TREES {
            return Err(CascadeError::OutOfRange {
                what: "total tree count",
                value: (model.trees.len() + tree_count).to_string(),
            });
        }
        model.stages.push(Stage {
            threshold,
            first: model.trees.len(),
            count: tree_count,
        });
        for _ in 0..tree_count {
            read_tree(&mut tokens, &mut model)?;
        }
    }
    tokens.keyword("features")?;
    let feature_count = tokens.integer("feature count", 1..=MAX_FEATURES)? as usize;
    for _ in 0..feature_count {
        let feature = read_feature(&mut tokens, window_width, window_height)?;
        model.features.push(feature);
    }
    if tokens.words.next().is_some() {
        return Err(CascadeError::TrailingText);
    }
    if let Some(node) = model
        .nodes
        .iter()
        .find(|node| node.feature >= feature_count)
    {
        return Err(CascadeError::OutOfRange {
            what: "feature index",
            value: node.feature.to_string(),
        });
    }
    Ok(model)
}

fn read_tree(tokens: &mut Tokens<'_>, model: &mut Model) -> Result<(), CascadeError> {
    tokens.keyword("tree")?;
    let node_count = tokens.integer("node count", 1..=MAX_NODES_PER_TREE)?;
    let leaf_count = node_count + 1;
    model.trees.push(Tree {
        first_node: model.nodes.len(),
        node_count: node_count as usize,
        first_leaf: model.leaves.len(),
    });
    for index in 0..node_count {
        // A child is a later node of this tree (so every walk ends at a leaf) or a leaf.
        let children = index + 1..=node_count - 1;
        let leaves = -(leaf_count - 1)..=0;
        let mut child = |what| -> Result<i32, CascadeError> {
            let value = tokens.integer(what, -(leaf_count - 1)..=node_count - 1)?;
            if children.contains(&value) || leaves.contains(&value) {
                Ok(value as i32)
            } else {
                Err(CascadeError::OutOfRange {
                    what,
                    value: value.to_string(),
                })
            }
        };
        let left = child("left child")?;
        let right = child("right child")?;
        let feature = tokens.integer("feature index", 0..=MAX_FEATURES - 1)? as usize;
        let threshold = tokens.real("node threshold")?;
        model.nodes.push(Node {
            feature,
            threshold,
            left,
            right,
        });
    }
    for _ in 0..leaf_count {
        let leaf = tokens.real("leaf value")?;
        model.leaves.push(leaf);
    }
    Ok(())
}

fn read_feature(
    tokens: &mut Tokens<'_>,
    window_width: u32,
    window_height: u32,
) -> Result<Feature, CascadeError> {
    tokens.keyword("feature")?;
    let tilted = tokens.integer("tilted flag", 0..=1)? == 1;
    let rect_count = tokens.integer("rectangle count", 2..=3)?;
    let empty = WeightedRect {
        x: 0,
        y: 0,
        width: 0,
        height: 0,
        weight: 0.0,
    };
    let mut rects = [empty; 3];
    let (side_w, side_h) = (i64::from(window_width), i64::from(window_height));
    for rect in rects.iter_mut().take(rect_count as usize) {
        let x = tokens.integer("rectangle x", 0..=side_w)?;
        let y = tokens.integer("rectangle y", 0..=side_h)?;
        let width = tokens.integer("rectangle width", 1..=side_w)?;
        let height = tokens.integer("rectangle height", 1..=side_h)?;
        let weight = tokens.real("rectangle weight")?;
        // Every corner the sums read must lie in the window's integral (0..=side).
        let inside = if tilted {
            x - height >= 0 && x + width <= side_w && y + width + height <= side_h
        } else {
            x + width <= side_w && y + height <= side_h
        };
        if !inside {
            return Err(CascadeError::OutOfRange {
                what: "rectangle",
                value: format!("{x} {y} {width} {height}"),
            });
        }
        *rect = WeightedRect {
            x: x as u32,
            y: y as u32,
            width: width as u32,
            height: height as u32,
            weight,
        };
    }
    Ok(Feature { tilted, rects })
}
