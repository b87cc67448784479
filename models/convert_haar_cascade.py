#!/usr/bin/env python3
"""Converts an OpenCV Haar cascade (the "new" XML format of opencv_traincascade, as shipped in
opencv-python's cv2/data/) into the plain token format pictor's `detect::haar` reads:

    # the XML's licence comment, one '#' line per line
    haar-cascade 1
    window <width> <height>
    stages <count>
    stage <threshold> <trees>
    tree <nodes> (<left> <right> <feature> <threshold>) x nodes (<leaf>) x (nodes + 1)
    ...
    features <count>
    feature <tilted 0|1> <rects> (<x> <y> <width> <height> <weight>) x rects
    ...

Numbers are copied as the XML spells them, so the values read are the ones OpenCV reads.
Usage: convert_haar_cascade.py cascade.xml > cascade.txt (Python standard library only).
"""
import re
import sys
import xml.etree.ElementTree as ET


def main(path):
    text = open(path, encoding="utf-8").read()
    licence = re.search(r"<!--(.*?)-->", text, re.S)
    out = []
    if licence:
        out += ["#" + (" " + line if line.strip() else "") for line in licence.group(1).strip("\n").split("\n")]
    cascade = ET.fromstring(text).find("cascade")
    assert cascade.findtext("stageType").strip() == "BOOST"
    assert cascade.findtext("featureType").strip() == "HAAR"
    assert int(cascade.findtext("featureParams/maxCatCount")) == 0
    out.append("haar-cascade 1")
    out.append(f"window {cascade.findtext('width').strip()} {cascade.findtext('height').strip()}")
    stages = cascade.find("stages").findall("_")
    out.append(f"stages {len(stages)}")
    for stage in stages:
        trees = stage.find("weakClassifiers").findall("_")
        out.append(f"stage {stage.findtext('stageThreshold').strip()} {len(trees)}")
        for tree in trees:
            nodes = tree.findtext("internalNodes").split()
            leaves = tree.findtext("leafValues").split()
            assert len(nodes) % 4 == 0 and len(leaves) == len(nodes) // 4 + 1
            out.append(f"tree {len(nodes) // 4} " + " ".join(nodes) + " " + " ".join(leaves))
    features = cascade.find("features").findall("_")
    out.append(f"features {len(features)}")
    for feature in features:
        rects = [r.text.split() for r in feature.find("rects").findall("_")]
        tilted = (feature.findtext("tilted") or "0").strip()
        out.append(f"feature {tilted} {len(rects)} " + " ".join(" ".join(r) for r in rects))
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
