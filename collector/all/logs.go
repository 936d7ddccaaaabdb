package all

import _ "github.com/kubepulse/kubepulse/collector/logs" // --collector.logs
