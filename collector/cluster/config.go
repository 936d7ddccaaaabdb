package cluster

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubepulse/kubepulse/collector"
)

// Validate checks the flag combination; errors name the flag and the fix.
func (c Config) Validate() error {
	if c.TotalShards < 1 {
		return fmt.Errorf("--total-shards=%d: must be at least 1", c.TotalShards)
	}
	if c.Shard < 0 || c.Shard >= c.TotalShards {
		return fmt.Errorf("--shard=%d: must be between 0 and --total-shards-1 (%d)", c.Shard, c.TotalShards-1)
	}
	if len(c.Namespaces) > 0 && len(c.NamespacesDenylist) > 0 {
		return errors.New("--namespaces and --namespaces-denylist: use one or the other, not both")
	}
	for _, ns := range append(append([]string{}, c.Namespaces...), c.NamespacesDenylist...) {
		if !validDNSLabel(ns) {
			return fmt.Errorf("--namespaces/--namespaces-denylist: %q is not a valid namespace name (lower-case letters, digits and '-', at most 63 characters)", ns)
		}
	}
	if c.Node != "" && (len(c.Node) > 253 || strings.ContainsAny(c.Node, " ,=/\t")) {
		return fmt.Errorf("--node=%q: not a valid node name", c.Node)
	}
	return nil
}

func validDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// restConfig resolves the client configuration: --kubeconfig, else
// in-cluster, else $KUBECONFIG / ~/.kube/config. Errors are one line and name
// the file.
func restConfig(path string) (*rest.Config, error) {
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("--kubeconfig %s: %s", path, oneLine(err.Error()))
		}
		cfg, err := clientcmd.BuildConfigFromFlags("", path)
		if err != nil {
			return nil, fmt.Errorf("--kubeconfig %s: invalid kubeconfig: %s", path, oneLine(err.Error()))
		}
		return tune(cfg), nil
	}
	if cfg, err := rest.InClusterConfig(); err == nil {
		return tune(cfg), nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		files := strings.Join(rules.GetLoadingPrecedence(), ":")
		// Nothing usable configured: this is not a Kubernetes machine, and
		// the cluster collectors step aside unless named. A kubeconfig that
		// does not load is a mistake and an error.
		if clientcmd.IsEmptyConfig(err) {
			return nil, collector.Unavailable(fmt.Errorf("no Kubernetes cluster: not running in one, and no usable kubeconfig (tried %s); give --kubeconfig=FILE to watch one", files))
		}
		return nil, fmt.Errorf("kubeconfig %s: %s; fix it or give --kubeconfig=FILE", files, oneLine(err.Error()))
	}
	return tune(cfg), nil
}

func tune(cfg *rest.Config) *rest.Config {
	cfg.UserAgent = "kubepulse"
	if cfg.QPS == 0 {
		cfg.QPS = 50
		cfg.Burst = 100
	}
	return cfg
}

// protobufConfig is for the typed core clients: protobuf roughly halves list
// decoding time and garbage for Pods and Nodes.
func protobufConfig(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.ContentType = "application/vnd.kubernetes.protobuf"
	c.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	return c
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
