//! How much an SVG grows when usvg converts it, bounded from the XML before usvg spends it.
//!
//! usvg does not convert a file element by element: `<use>` (and any `href` template) is
//! replaced by a copy of what it references, a marker's content is converted again for every
//! vertex of the shape that places it, and a mask, clip path, pattern or filter in
//! objectBoundingBox units is converted again for every element that references it. Each copy
//! holds its own nodes and parsed path data, so a 2 KB file that nests `<use>` six levels deep
//! over a long path asks for gigabytes (the fuzzer found one), and counting the converted nodes
//! afterwards is too late. Here every element costs its attribute text, a fixed
//! [`ELEMENT_BYTES`] and what its outline becomes ([`super::outline`]); a reference adds the
//! cost of what it references (times the vertex bound for a marker). The growth over the
//! file's own cost is refused past [`MAX_GROWTH_BYTES`]. References in a `<style>` sheet are
//! counted on every element, since a selector may match it. A reference cycle counts once:
//! usvg refuses recursive `use` and markers the same way.

use super::outline::{self, Outlines};
use super::undecodable;
use crate::imaging::ImagingError;
use resvg::usvg::roxmltree::{Document, Node, NodeId};
use std::collections::HashMap;

/// What converting one element costs beyond its attribute text: usvg's node, its style and
/// transform, roughly.
pub(super) const ELEMENT_BYTES: u64 = 256;

/// The most the references of one file may add to its own cost (elements and attribute text,
/// as above): 65 536 copied elements, or 16 MiB of copied path data. Icon sprites and repeated
/// symbols stay far below it.
pub(super) const MAX_GROWTH_BYTES: u64 = 16 << 20;

/// The most steps (an element costed, a reference followed) the walk below may take: a file of
/// [`super::MAX_XML_NODES`] elements without reference cycles takes a few per element; a
/// file whose cycles make it cost the same elements again and again is refused.
pub(super) const MAX_WALK_STEPS: usize = 4_000_000;

/// Refuses a file whose references would have usvg convert more than [`MAX_GROWTH_BYTES`]
/// beyond the file itself.
pub(super) fn check(xml: &Document<'_>) -> Result<(), ImagingError> {
    let expansion = Expansion::new(xml)?;
    let Some(converted) = expansion.cost_of(xml.root()) else {
        return Err(undecodable(format!(
            "its references take more than {MAX_WALK_STEPS} steps to follow"
        )));
    };
    if converted.saturating_sub(expansion.own_total) > MAX_GROWTH_BYTES {
        return Err(undecodable(format!(
            "its references expand the drawing by more than {} MiB",
            MAX_GROWTH_BYTES >> 20
        )));
    }
    Ok(())
}

/// The element's own text: a fixed cost plus its attribute values.
fn own_cost(element: &Node<'_, '_>) -> u64 {
    element
        .attributes()
        .map(|attribute| attribute.value().len() as u64)
        .fold(ELEMENT_BYTES, u64::saturating_add)
}

/// An upper bound on the vertices of a shape (a marker is drawn at each): every vertex takes at
/// least two characters of `d` or `points`; start and end count besides.
fn vertex_bound(element: &Node<'_, '_>) -> u64 {
    let data = ["d", "points"]
        .iter()
        .filter_map(|name| element.attribute(*name))
        .map(str::len)
        .sum::<usize>() as u64;
    data / 2 + 2
}

/// The `#id` targets of every `url(#id)` in `text` (quoted or not).
fn url_targets(text: &str) -> impl Iterator<Item = &str> {
    text.split("url(").skip(1).filter_map(|rest| {
        let inside = rest.split(')').next()?.trim();
        let inside = inside.trim_matches(|c| c == '\'' || c == '"').trim();
        inside.strip_prefix('#').filter(|id| !id.is_empty())
    })
}

/// One step of the walk: an element's children first, then what it references.
struct Edge {
    target: Target,
    times: u64,
}

#[derive(Clone, Copy, PartialEq)]
enum Target {
    Node(NodeId),
    /// Everything the `<style>` sheets reference, as one stand-in node.
    StyleSheet,
}

struct Expansion<'a, 'input> {
    xml: &'a Document<'input>,
    /// The first and the last element of each id: usvg copies the first into a `<use>` and
    /// resolves a `url(#id)` to the last.
    ids: HashMap<&'a str, [NodeId; 2]>,
    style_targets: Vec<&'a str>,
    style_places_markers: bool,
    /// What the file's elements cost as they stand, without what references copy.
    own_total: u64,
    /// What each element's outline costs (its arcs' curves, its dashes), where it costs.
    outline_bytes: HashMap<NodeId, u64>,
    /// One past the largest node index: the stand-in for the style sheets takes it.
    node_count: usize,
}

impl<'a, 'input> Expansion<'a, 'input> {
    /// Reads ids, style sheets and each element's own cost; refuses arcs past
    /// [`outline::MAX_CURVES_PER_ARC`] or, all together, [`outline::MAX_CURVES`], and dashes
    /// past [`outline::MAX_DASHES`].
    fn new(xml: &'a Document<'input>) -> Result<Self, ImagingError> {
        let outlines = Outlines::new(xml);
        let mut outline_bytes = HashMap::new();
        let (mut curves, mut dashes) = (0u64, 0u64);
        let mut ids: HashMap<&'a str, [NodeId; 2]> = HashMap::new();
        let mut style_targets = Vec::new();
        let mut style_places_markers = false;
        let mut own_total = 0u64;
        let mut node_count = 0;
        for node in xml.descendants() {
            node_count = node_count.max(node.id().get_usize() + 1);
            if !node.is_element() {
                continue;
            }
            let outline = outlines.cost(&node)?;
            curves = curves.saturating_add(outline.curves);
            dashes = dashes.saturating_add(outline.dashes);
            let bytes = outline
                .curves
                .saturating_mul(outline::CURVE_BYTES)
                .saturating_add(outline.dashes.saturating_mul(outline::DASH_BYTES));
            if bytes > 0 {
                outline_bytes.insert(node.id(), bytes);
            }
            own_total = own_total
                .saturating_add(own_cost(&node))
                .saturating_add(bytes);
            if let Some(id) = node.attribute("id") {
                ids.entry(id)
                    .and_modify(|[_, last]| *last = node.id())
                    .or_insert([node.id(); 2]);
            }
            if node.tag_name().name() == "style" {
                for text in node.children().filter_map(|child| child.text()) {
                    style_targets.extend(url_targets(text));
                    style_places_markers |= text.contains("marker");
                }
            }
        }
        if curves > outline::MAX_CURVES {
            return Err(undecodable(format!(
                "its arcs would become more than {} curves",
                outline::MAX_CURVES
            )));
        }
        if dashes > outline::MAX_DASHES {
            return Err(undecodable(format!(
                "its dash arrays would cut its outlines into more than {} dashes",
                outline::MAX_DASHES
            )));
        }
        style_targets.sort_unstable();
        style_targets.dedup();
        Ok(Self {
            xml,
            ids,
            style_targets,
            style_places_markers,
            own_total,
            outline_bytes,
            node_count,
        })
    }

    fn edges(&self, target: Target) -> Vec<Edge> {
        let node_edges = |id: &str, times: u64, edges: &mut Vec<Edge>| {
            if let Some(&[first, last]) = self.ids.get(id) {
                let distinct = if first == last { 1 } else { 2 };
                for node in [first, last].into_iter().take(distinct) {
                    edges.push(Edge {
                        target: Target::Node(node),
                        times,
                    });
                }
            }
        };
        let mut edges = Vec::new();
        match target {
            Target::StyleSheet => {
                for id in &self.style_targets {
                    node_edges(id, 1, &mut edges);
                }
            }
            Target::Node(id) => {
                let Some(node) = self.xml.get_node(id) else {
                    return edges;
                };
                edges.extend(node.children().filter(Node::is_element).map(|child| Edge {
                    target: Target::Node(child.id()),
                    times: 1,
                }));
                if !node.is_element() {
                    return edges;
                }
                let vertices = vertex_bound(&node);
                for attribute in node.attributes() {
                    let name = attribute.name();
                    let value = attribute.value();
                    if name == "href" {
                        if let Some(id) = value.strip_prefix('#') {
                            node_edges(id, 1, &mut edges);
                        }
                    }
                    let places_markers =
                        name.starts_with("marker") || (name == "style" && value.contains("marker"));
                    let times = if places_markers { vertices } else { 1 };
                    for id in url_targets(value) {
                        node_edges(id, times, &mut edges);
                    }
                }
                if !self.style_targets.is_empty() {
                    edges.push(Edge {
                        target: Target::StyleSheet,
                        times: if self.style_places_markers {
                            vertices
                        } else {
                            1
                        },
                    });
                }
            }
        }
        edges
    }

    fn own(&self, target: Target) -> u64 {
        match target {
            Target::Node(id) => {
                self.xml
                    .get_node(id)
                    .filter(Node::is_element)
                    .map_or(0, |element| {
                        own_cost(&element)
                            .saturating_add(self.outline_bytes.get(&id).copied().unwrap_or(0))
                    })
            }
            Target::StyleSheet => 0,
        }
    }

    /// The converted cost of `start` and everything under and referenced from it, or None past
    /// [`MAX_WALK_STEPS`].
    ///
    /// A depth-first walk without recursion (reference chains can be as long as the file). A
    /// reference back to a node still being costed (a cycle) adds nothing, as usvg skips a
    /// recursive `use`, marker, pattern or mask. What a node costs is then kept for later
    /// references only if no such cut happened below it at a node above it: otherwise its cost
    /// depends on the way it was reached (usvg cuts a cycle where it re-enters it), so it is
    /// costed again from each way in, which the step limit keeps finite.
    fn cost_of(&self, start: Node<'_, '_>) -> Option<u64> {
        let style_sheet_index = self.node_count;
        let index = |target: Target| match target {
            Target::Node(id) => id.get_usize(),
            Target::StyleSheet => style_sheet_index,
        };
        #[derive(Clone, Copy)]
        enum State {
            New,
            /// Being costed, at this depth of the walk.
            Costing(usize),
            Costed(u64),
        }
        struct Frame {
            target: Target,
            edges: Vec<Edge>,
            next: usize,
            total: u64,
            /// The shallowest node still being costed that a cycle from here reached.
            lowest_cut: usize,
        }
        let mut states = vec![State::New; style_sheet_index + 1];
        let mut stack: Vec<Frame> = Vec::new();
        let mut steps = 0usize;
        let push = |stack: &mut Vec<Frame>, states: &mut [State], target: Target| {
            let depth = stack.len();
            states[index(target)] = State::Costing(depth);
            let edges = self.edges(target);
            stack.push(Frame {
                target,
                edges,
                next: 0,
                total: self.own(target),
                lowest_cut: depth,
            });
        };
        push(&mut stack, &mut states, Target::Node(start.id()));
        let mut cost = 0;
        while let Some(frame) = stack.last_mut() {
            steps += 1;
            if steps > MAX_WALK_STEPS {
                return None;
            }
            if let Some(edge) = frame.edges.get(frame.next) {
                frame.next += 1;
                let (target, times) = (edge.target, edge.times);
                match states[index(target)] {
                    State::Costed(cost) => {
                        frame.total = frame.total.saturating_add(cost.saturating_mul(times));
                    }
                    State::Costing(depth) => frame.lowest_cut = frame.lowest_cut.min(depth),
                    State::New => push(&mut stack, &mut states, target),
                }
                continue;
            }
            let (target, total, lowest_cut) = (frame.target, frame.total, frame.lowest_cut);
            stack.pop();
            let depth = stack.len();
            states[index(target)] = if lowest_cut < depth {
                State::New
            } else {
                State::Costed(total)
            };
            match stack.last_mut() {
                Some(parent) => {
                    let times = parent.edges[parent.next - 1].times;
                    parent.total = parent.total.saturating_add(total.saturating_mul(times));
                    parent.lowest_cut = parent.lowest_cut.min(lowest_cut);
                }
                None => cost = total,
            }
        }
        Some(cost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn growth(svg: &str) -> u64 {
        let xml = Document::parse(svg).unwrap();
        let expansion = Expansion::new(&xml).unwrap();
        expansion.cost_of(xml.root()).unwrap() - expansion.own_total
    }

    #[test]
    fn a_file_without_references_does_not_grow() {
        assert_eq!(
            growth(r#"<svg xmlns="http://www.w3.org/2000/svg"><g><rect width="1"/></g></svg>"#),
            0
        );
    }

    #[test]
    fn a_use_adds_a_copy_of_what_it_references() {
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg"><rect id="r" width="10"/><use href="#r"/><use href="#r"/></svg>"##;
        // Each copy is the rect's own cost: ELEMENT_BYTES + "r" + "10".
        assert_eq!(growth(svg), 2 * (ELEMENT_BYTES + 3));
    }

    #[test]
    fn a_copy_costs_the_curves_of_its_arcs_too() {
        // An arc of radius 10^15 becomes 473 curves; each copy converts them again.
        let d = "M0 0 A1e15 1e15 0 0 0 1 0";
        let svg = format!(
            r##"<svg xmlns="http://www.w3.org/2000/svg"><path id="p" d="{d}"/><use href="#p"/></svg>"##
        );
        let path_text = ("p".len() + d.len()) as u64;
        assert_eq!(
            growth(&svg),
            ELEMENT_BYTES + path_text + 473 * outline::CURVE_BYTES
        );
        // 1200 copies of it (forty uses of a group of thirty) are past the growth limit.
        let uses = r##"<use href="#p"/>"##.repeat(30);
        let group_uses = r##"<use href="#g"/>"##.repeat(40);
        let many = format!(
            r##"<svg xmlns="http://www.w3.org/2000/svg"><path id="p" d="{d}"/><g id="g">{uses}</g>{group_uses}</svg>"##
        );
        assert!(growth(&many) > MAX_GROWTH_BYTES);
        assert!(check(&Document::parse(&many).unwrap()).is_err());
    }

    #[test]
    fn nested_uses_multiply() {
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg"><defs><rect id="a"/>
            <g id="b"><use href="#a"/><use href="#a"/><use href="#a"/></g>
            <g id="c"><use href="#b"/><use href="#b"/><use href="#b"/></g></defs>
            <use href="#c"/></svg>"##;
        // 27 rects drawn through the last use, plus the copies inside the defs.
        assert!(growth(svg) > 27 * ELEMENT_BYTES);
    }

    #[test]
    fn a_marker_counts_once_per_vertex() {
        let points = "0,0 ".repeat(100);
        let svg = format!(
            r##"<svg xmlns="http://www.w3.org/2000/svg"><marker id="m"><rect/></marker><polyline points="{points}" marker-mid="url(#m)"/></svg>"##
        );
        assert!(growth(&svg) >= 100 * ELEMENT_BYTES);
    }

    #[test]
    fn a_style_sheet_reference_counts_on_every_element() {
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg"><style>rect { fill: url('#p') }</style><pattern id="p"><circle r="1"/></pattern><rect/><rect/></svg>"##;
        assert!(growth(svg) >= 2 * 2 * ELEMENT_BYTES);
    }

    #[test]
    fn a_cycle_ends() {
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg"><g id="a"><use href="#b"/></g><g id="b"><use href="#a"/></g></svg>"##;
        assert!(growth(svg) < 8 * ELEMENT_BYTES);
    }

    #[test]
    fn a_cycle_entered_from_its_middle_does_not_hide_what_it_copies() {
        // l3 reaches l4 and l4 copies l3 ten times: costed from l3 first (document order),
        // l4's cost is cut there; the <use> of l4 at the end must still count 10^4 paths.
        let uses = |target: &str| format!(r##"<use href="#{target}"/>"##).repeat(10);
        let svg = format!(
            r##"<svg xmlns="http://www.w3.org/2000/svg"><defs><path id="l0" d="M0 0"/>
            <g id="l1">{}</g><g id="l2">{}</g><g id="l3"><other href="#l4"/>{}</g>
            <g id="l4">{}</g></defs><use href="#l4"/></svg>"##,
            uses("l0"),
            uses("l1"),
            uses("l2"),
            uses("l3")
        );
        assert!(growth(&svg) > 10_000 * ELEMENT_BYTES);
    }

    #[test]
    fn tangled_cycles_are_refused_not_followed_forever() {
        // 24 groups each using every other one twice: every way in is costed again.
        let ids: Vec<String> = (0..24).map(|i| format!("g{i}")).collect();
        let groups: String = ids
            .iter()
            .map(|id| {
                let uses: String = ids
                    .iter()
                    .filter(|other| *other != id)
                    .map(|other| format!(r##"<use href="#{other}"/><use href="#{other}"/>"##))
                    .collect();
                format!(r#"<g id="{id}">{uses}</g>"#)
            })
            .collect();
        let svg = format!(r#"<svg xmlns="http://www.w3.org/2000/svg">{groups}</svg>"#);
        let xml = Document::parse(&svg).unwrap();
        assert!(check(&xml).unwrap_err().to_string().contains("steps"));
    }

    #[test]
    fn url_targets_reads_every_quoting() {
        let found: Vec<_> =
            url_targets("fill:url(#a);stroke:url( '#b' ) url(\"#c\") url(x)").collect();
        assert_eq!(found, ["a", "b", "c"]);
    }
}
