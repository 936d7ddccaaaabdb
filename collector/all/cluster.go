package all

import _ "github.com/kubepulse/kubepulse/collector/cluster" // node, pod, hpa collectors and the shared cluster source
