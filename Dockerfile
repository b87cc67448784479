# pictor: multi-stage build; the runtime is Debian slim with only what `ldd pictor` needs
# (checked by scripts/check-docker-libs.sh, which reads the apt line below).
FROM rust:1-slim-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends nasm pkg-config build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked && strip target/release/pictor

FROM debian:bookworm-slim
# runtime-packages: ca-certificates
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 pictor
COPY --from=build /src/target/release/pictor /usr/local/bin/pictor
COPY samples /srv/images
USER pictor
ENV FILE_LOADER_ROOT_PATH=/srv/images
EXPOSE 8888
ENTRYPOINT ["/usr/local/bin/pictor"]
CMD ["serve", "--bind", "0.0.0.0:8888"]
