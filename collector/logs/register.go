package logs

import (
	"errors"
	"time"

	"github.com/go-kit/log/level"

	"github.com/kubepulse/kubepulse/collector"
)

const name = "logs"

// Config is the logs collector's configuration (its flags).
type Config struct {
	Path          string        // --logs.path: kubelet pod log root
	RulesFile     string        // --logs.rules-file; "" means the default rules
	PositionsFile string        // --logs.positions-file; "" disables persistence
	PositionsSync time.Duration // how often positions are written
	MaxLineBytes  int           // --logs.max-line-bytes
	Poll          time.Duration // full rescan interval (inotify triggers more)
	SeriesTTL     time.Duration // --logs.series-ttl
	Workers       int           // parallel readers; 0 = GOMAXPROCS
	BufferBytes   int           // read buffer per worker
	// MaxChunksPerTurn bounds how long one reader holds a file group before
	// letting others (and positions saves) go; 0 = 256 chunks.
	MaxChunksPerTurn int
}

var flagCfg Config

func init() {
	collector.Register(collector.Spec{
		Name:  name,
		Flags: flags,
		// --logs.path says what to read, so giving it enables the collector.
		EnabledBy: []string{"logs.path"},
		// The log files carry no workload. In DaemonSet mode (--node) the
		// cluster watches just this node's pods and can add it; without
		// --node the collector stays free of API access. So of the cluster
		// flags only these two change what it reports.
		NeedsCluster: true,
		ClusterFlags: []string{"kubeconfig", "node"},
		New:          newFromFlags,
	})
}

func flags(f collector.Flagger) {
	f.Flag("logs.path", "Kubelet pod log root: <namespace>_<pod>_<uid>/<container>/<N>.log.").
		Default("/var/log/pods").StringVar(&flagCfg.Path)
	f.Flag("logs.rules-file", "YAML rules file: rules: [{name, regex, streams?: [stdout|stderr]}]. Empty: the default rules (docs/logs.md).").
		Default("").StringVar(&flagCfg.RulesFile)
	f.Flag("logs.positions-file", "Where read positions are kept across restarts. Empty disables it.").
		Default("/var/lib/kubepulse/log-positions.json").StringVar(&flagCfg.PositionsFile)
	f.Flag("logs.positions-sync-interval", "How often the positions file is written (it is also written at shutdown).").
		Default("5s").DurationVar(&flagCfg.PositionsSync)
	f.Flag("logs.max-line-bytes", "Longest logical line kept; longer lines are cut, counted, and matched on their prefix.").
		Default("65536").IntVar(&flagCfg.MaxLineBytes)
	f.Flag("logs.poll-interval", "Full rescan interval; inotify triggers scans sooner when available.").
		Default("500ms").DurationVar(&flagCfg.Poll)
	f.Flag("logs.series-ttl", "How long series of a container whose log directory is gone are kept.").
		Default("10m").DurationVar(&flagCfg.SeriesTTL)
}

// newFromFlags builds the collector; a bad rules file fails here. Workload
// labels are a bonus: without the node's pods they stay empty, with one
// line saying why.
func newFromFlags(env collector.Env) (collector.Collector, error) {
	c, err := New(flagCfg, env.Logger)
	if err != nil {
		return nil, err
	}
	cl, err := env.Cluster()
	if err == nil && cl.NodeName() == "" {
		err = errors.New("--node is not set, so this exporter does not watch its node's pods")
	}
	if err != nil {
		level.Info(env.Logger).Log("msg", "log counters get empty workload labels: the pods of this node cannot be looked up", "reason", err)
		return c, nil
	}
	cl.RequireWorkloads()
	c.SetWorkloads(func(ns, pod string) (string, string, bool) {
		ci, ok := cl.Container(ns, pod, "")
		return ci.WorkloadKind, ci.Workload, ok
	}, cl.Start)
	return c, nil
}
