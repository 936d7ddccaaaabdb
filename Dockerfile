# Two stages: build a static binary, then ship it alone on a distroless base.
# (Not built in CI: the development machines have no Docker engine.)
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/prometheus/common/version.Version=${VERSION}" \
      -o /out/kubepulse .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/kubepulse /usr/local/bin/kubepulse
USER 65532:65532
EXPOSE 9850
ENTRYPOINT ["/usr/local/bin/kubepulse"]
CMD ["exporter"]
