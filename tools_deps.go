//go:build tools

// Package main's tools_deps keeps the pinned dependencies in go.mod while
// collectors are being written in parallel; removed once all are imported.
package main

import (
	_ "github.com/alecthomas/kingpin/v2"
	_ "github.com/fsnotify/fsnotify"
	_ "github.com/go-kit/log"
	_ "github.com/grafana/grafana-foundation-sdk/go/dashboard"
	_ "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/prometheus/common/expfmt"
	_ "github.com/prometheus/common/version"
	_ "github.com/prometheus/exporter-toolkit/web"
	_ "github.com/prometheus/exporter-toolkit/web/kingpinflag"
	_ "github.com/prometheus/prometheus/model/rulefmt"
	_ "github.com/prometheus/prometheus/promql"
	_ "github.com/prometheus/prometheus/promql/parser"
	_ "github.com/prometheus/prometheus/promql/promqltest"
	_ "github.com/prometheus/prometheus/rules"
	_ "github.com/prometheus/prometheus/tsdb"
	_ "github.com/tjhop/slog-gokit"
	_ "golang.org/x/sync/errgroup"
	_ "gopkg.in/yaml.v3"
	_ "k8s.io/client-go/informers"
	_ "k8s.io/client-go/kubernetes"
	_ "k8s.io/client-go/kubernetes/fake"
	_ "k8s.io/client-go/metadata"
	_ "k8s.io/client-go/metadata/metadatainformer"
	_ "k8s.io/client-go/tools/clientcmd"
	_ "k8s.io/metrics/pkg/client/clientset/versioned"
	_ "sigs.k8s.io/yaml"
)
