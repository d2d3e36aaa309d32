package agent_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/switchyard/switchyard/agent"
	"github.com/switchyard/switchyard/agent/agenttest"
)

// Services and checks registered with an agent survive its restart: they
// are back in /v1/agent/services and /v1/agent/checks with the status they
// were registered with, and stay in the catalog through full sync passes.
// A deregistration before the restart stays done.
func TestAgentRegistrationsSurviveRestart(t *testing.T) {
	c := agenttest.NewCluster(t, 1)
	a := c.Agents[0]
	node := a.Config().NodeName
	expect(t, a, "PUT", "/v1/agent/service/register", `{"ID":"web-1","Name":"web","Port":8080,"Tags":["v1"],"Check":{"TTL":"1h","Status":"passing"}}`, 200, nil)
	expect(t, a, "PUT", "/v1/agent/service/register", `{"ID":"old","Name":"old","Port":8081}`, 200, nil)
	expect(t, a, "PUT", "/v1/agent/check/register", `{"ID":"mem","Name":"memory","TTL":"1h"}`, 200, nil)
	expect(t, a, "PUT", "/v1/agent/check/fail/service:web-1", "", 200, nil) // a status change is not a registration
	expect(t, a, "PUT", "/v1/agent/service/deregister/old", "", 200, nil)

	c.Kill(0)
	a = c.Restart(0)
	c.WaitForLeader()

	var services map[string]agentService
	expect(t, a, "GET", "/v1/agent/services", "", 200, &services)
	if len(services) != 1 || services["web-1"].Port != 8080 || strings.Join(services["web-1"].Tags, ",") != "v1" {
		t.Fatalf("services after restart = %+v", services)
	}
	checks := agentChecks(t, a)
	if len(checks) != 2 || checks["service:web-1"].Status != "passing" || checks["mem"].Status != "critical" || checks["mem"].Node != node {
		t.Fatalf("checks after restart = %+v", checks)
	}
	// Full passes (every ReconcileInterval) keep them in the catalog.
	time.Sleep(3 * a.Config().ReconcileInterval)
	agenttest.Eventually(t, 10*time.Second, func() error {
		var instances []struct{ ServiceID string }
		expect(t, a, "GET", "/v1/catalog/service/web", "", 200, &instances)
		cc := catalogChecks(t, a, node)
		if len(instances) != 1 || cc["mem"].Status != "critical" || cc["service:web-1"].Status != "passing" {
			return fmt.Errorf("catalog after restart: %+v %+v", instances, cc)
		}
		var old []struct{ ServiceID string }
		expect(t, a, "GET", "/v1/catalog/service/old", "", 200, &old)
		if len(old) != 0 {
			return fmt.Errorf("the deregistered service is back: %+v", old)
		}
		return nil
	})
	// A restored TTL check takes updates again.
	expect(t, a, "PUT", "/v1/agent/check/pass/mem", "", 200, nil)
	if st := agentChecks(t, a)["mem"].Status; st != "passing" {
		t.Fatalf("restored TTL check after pass: %s", st)
	}
}

// A damaged registrations file stops the agent with the file's path and
// the remedy, instead of starting without (and so deregistering) them.
func TestAgentRefusesDamagedRegistrations(t *testing.T) {
	cfg := agenttest.TestConfig(t, "s1")
	cfg.BootstrapExpect = 1
	path := filepath.Join(cfg.DataDir, "local", "registrations.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	for body, want := range map[string]string{
		`{"Version":1,"Services":[`:   "is damaged",
		`{"Version":9,"Services":[]}`: "has format version 9",
	} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		a, err := agent.New(cfg, hclog.NewNullLogger())
		if err == nil {
			a.Shutdown()
			t.Fatalf("started with %q", body)
		}
		if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q, want the path and %q", err, want)
		}
	}
}
