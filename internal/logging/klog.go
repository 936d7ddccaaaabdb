package logging

import (
	"sync"
	"sync/atomic"

	"github.com/go-kit/log"
	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
)

// klogTarget is where klog output goes. klog.SetLogger is not safe to call
// while client-go goroutines log, so it is called once with a logger that
// forwards to whatever RouteKlog set last.
var (
	klogOnce   sync.Once
	klogTarget atomic.Pointer[log.Logger]
)

type forward struct{}

func (forward) Log(kv ...any) error {
	if l := klogTarget.Load(); l != nil {
		return (*l).Log(kv...)
	}
	return nil
}

// RouteKlog sends klog (client-go's logger, which alone reports some watch
// failures) to l through the slog bridge.
func RouteKlog(l log.Logger) {
	if b, ok := bridges.Load(l); ok {
		l = b.(log.Logger)
	}
	klogTarget.Store(&l)
	klogOnce.Do(func() {
		klog.SetLogger(logr.FromSlogHandler(Slog(forward{}).Handler()))
	})
}
