package logs

import (
	"runtime"
	"time"
)

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
