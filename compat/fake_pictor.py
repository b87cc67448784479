#!/usr/bin/env python3
"""Thumbor posing as pictor, to test the runner itself: `run.py --pictor-bin compat/fake_pictor.py`.

Accepts pictor's command line (`serve --bind HOST:PORT`) and pictor's Thumbor-named environment
variables, writes an equivalent Thumbor config and execs compat/.venv/bin/thumbor. A run against it
should agree on every deterministic case; whatever differs shows noise in the comparison itself.
"""

import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> None:
    args = sys.argv[1:]
    if len(args) != 3 or args[0] != "serve" or args[1] != "--bind":
        sys.exit("usage: fake_pictor.py serve --bind HOST:PORT")
    host, port = args[2].rsplit(":", 1)
    env = os.environ
    truthy = ("true", "1", "yes", "on")
    conf = {
        "LOADER": "thumbor.loaders.file_loader",
        "STORAGE": "thumbor.storages.no_storage",
        "RESULT_STORAGE": None,
        "SECURITY_KEY": env.get("SECURITY_KEY", "MY_SECURE_KEY"),
        "ALLOW_UNSAFE_URL": env.get("ALLOW_UNSAFE_URL", "true").lower() in truthy,
        "FILE_LOADER_ROOT_PATH": env.get("FILE_LOADER_ROOT_PATH", "."),
        "QUALITY": int(env.get("QUALITY", "80")),
        "AUTO_WEBP": env.get("AUTO_WEBP", "false").lower() in truthy,
        "RESPECT_ORIENTATION": env.get("RESPECT_ORIENTATION", "false").lower() in truthy,
        "MAX_WIDTH": int(env.get("MAX_WIDTH", "0")),
        "MAX_HEIGHT": int(env.get("MAX_HEIGHT", "0")),
        "MAX_PIXELS": int(env.get("MAX_PIXELS", "75000000")),
    }
    fd, path = tempfile.mkstemp(prefix="fake-pictor-", suffix=".conf")
    with os.fdopen(fd, "w") as f:
        for k, v in conf.items():
            f.write(f"{k} = {v!r}\n")
    thumbor = os.path.join(HERE, ".venv", "bin", "thumbor")
    os.execv(thumbor, [thumbor, "-p", port, "-i", host, "-c", path, "-l", "warning"])


if __name__ == "__main__":
    main()
