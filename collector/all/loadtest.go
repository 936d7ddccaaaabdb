package all

import _ "github.com/kubepulse/kubepulse/collector/loadtest" // --collector.loadtest
