package demo

import (
	"net/http"
	"strings"
)

// Handler serves the page, /metrics, the query API and the generated files.
func (d *Demo) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", d.metrics)
	d.apiRoutes(mux)
	mux.Handle("/generated/", http.StripPrefix("/generated/", http.FileServer(http.Dir(d.genDir))))
	mux.Handle("/static/", http.FileServerFS(assets))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("Healthy\n")) })
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if ok, waiting := d.set.Ready(); !ok {
			http.Error(w, "Not ready: waiting for "+strings.Join(waiting, ", "), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("Ready\n"))
	})
	mux.HandleFunc("/{$}", d.page)
	return mux
}
