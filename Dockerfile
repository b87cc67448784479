# pictor: multi-stage build; the runtime is Debian slim with only what `ldd pictor` needs
# (checked by scripts/check-docker-libs.sh, which reads the apt line below).
FROM rust:1-slim-bookworm AS build
# libheif-dev: HEIC originals are decoded by the system libheif (1.15 in bookworm).
RUN apt-get update && apt-get install -y --no-install-recommends nasm pkg-config build-essential libheif-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked && strip target/release/pictor

FROM debian:bookworm-slim
# libheif1 and what it links (its HEVC decoder libde265, and the encoders and AV1 decoders
# Debian builds into it, which pictor never calls but the loader needs).
# runtime-packages: ca-certificates libheif1 libde265-0 libx265-199 libnuma1 libdav1d6 libaom3
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates libheif1 libde265-0 \
    libx265-199 libnuma1 libdav1d6 libaom3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 pictor
COPY --from=build /src/target/release/pictor /usr/local/bin/pictor
COPY samples /srv/images
USER pictor
ENV FILE_LOADER_ROOT_PATH=/srv/images
EXPOSE 8888
ENTRYPOINT ["/usr/local/bin/pictor"]
CMD ["serve", "--bind", "0.0.0.0:8888"]
