package agent_test

import (
	"strings"
	"testing"

	"github.com/switchyard/switchyard/agent"
	"github.com/switchyard/switchyard/agent/agenttest"
)

// enable_debug serves Go's profiler under /debug/pprof/; without it the
// path is not there.
func TestEnableDebugServesProfiler(t *testing.T) {
	c := agenttest.NewCluster(t, 2, func(i int, cfg *agent.Config) { cfg.EnableDebug = i == 0 })
	code, body, _ := do(t, c.Agents[0], "GET", "/debug/pprof/", "")
	if code != 200 || !strings.Contains(body, "goroutine") {
		t.Fatalf("with enable_debug: %d %.200s", code, body)
	}
	if code, body, _ := do(t, c.Agents[1], "GET", "/debug/pprof/", ""); code != 404 {
		t.Fatalf("without enable_debug: %d %.200s", code, body)
	}
}
