# Two stages: a static Go binary, then that binary alone on distroless.
# Needs a Docker engine (BuildKit) that can pull both base images: `make image`.
# Base images are pinned by tag; pin them by digest in your own release build
# (`docker buildx imagetools inspect <image>` prints it).
FROM --platform=$BUILDPLATFORM golang:1.26.8 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG REVISION=unknown
# Set by BuildKit for each --platform; the build stage cross-compiles.
ARG TARGETOS=linux
ARG TARGETARCH=amd64
# CGO off: the runtime image has no libc. -trimpath: no build paths inside.
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
      -ldflags "-s -w -X github.com/prometheus/common/version.Version=${VERSION} -X github.com/prometheus/common/version.Revision=${REVISION}" \
      -o /out/kubepulse .

# distroless static: CA certificates, tzdata, /etc/passwd, nothing else.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/kubepulse /usr/local/bin/kubepulse
# The image's nonroot user, numeric so that runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 9850
ENTRYPOINT ["/usr/local/bin/kubepulse"]
CMD ["exporter"]
