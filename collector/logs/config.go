package logs

import (
	"runtime"
	"time"
)

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

func (c *Config) defaults() {
	if c.PositionsSync <= 0 {
		c.PositionsSync = 5 * time.Second
	}
	if c.MaxLineBytes <= 0 {
		c.MaxLineBytes = 64 << 10
	}
	if c.Poll <= 0 {
		c.Poll = 500 * time.Millisecond
	}
	if c.SeriesTTL <= 0 {
		c.SeriesTTL = 10 * time.Minute
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.BufferBytes <= 0 {
		c.BufferBytes = 256 << 10
	}
	if c.MaxChunksPerTurn <= 0 {
		c.MaxChunksPerTurn = 256
	}
}
