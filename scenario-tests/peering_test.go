package scenariotests

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/scenario-tests/harness"
)

// Cluster peering between two clusters of three real server processes,
// driven through the CLI as an operator would, with faults injected into
// the accepting cluster (cluster-02).

const (
	seedDir = "/work/shared/seeds/samples"
	// tokenTTL is cluster-02's token lifetime: short, so the expired-token
	// step does not wait long, yet ample for an immediate establish.
	tokenTTL = 6 * time.Second
)

// cli runs the switchyard CLI against addr and returns stdout, stderr and
// the exit code.
func cli(t *testing.T, addr string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, harness.Binary(t), args...)
	cmd.Env = append(cmd.Environ(), "SWITCHYARD_HTTP_ADDR="+addr)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

func mustCLI(t *testing.T, addr string, args ...string) string {
	t.Helper()
	out, errOut, code := cli(t, addr, args...)
	if code != 0 {
		t.Fatalf("switchyard %s: exit %d: %s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// generateToken retries until cluster-02 can issue tokens (CA and
// server addresses appear shortly after the first leader).
func generateToken(t *testing.T, s *harness.Server, name string) string {
	t.Helper()
	var tok string
	harness.Eventually(t, 20*time.Second, func() error {
		out, errOut, code := cli(t, s.HTTPAddr(), "peering", "generate-token", "-name", name)
		if code != 0 {
			return fmt.Errorf("generate-token: %s", errOut)
		}
		tok = strings.TrimSpace(out)
		raw, _ := base64.StdEncoding.DecodeString(tok)
		var parsed struct{ ServerAddresses []string }
		if err := json.Unmarshal(raw, &parsed); err != nil || len(parsed.ServerAddresses) != 3 {
			return fmt.Errorf("token lists %v (%v), want all 3 servers", parsed.ServerAddresses, err)
		}
		return nil
	})
	return tok
}

type peeringStatus struct {
	State        string
	StreamStatus struct{ ImportedServices, ExportedServices []string }
}

// readPeering reads a peering through any running server (404 → nil).
func readPeering(c *harness.Cluster, name string) (*peeringStatus, error) {
	running := c.Running()
	if len(running) == 0 {
		return nil, fmt.Errorf("no running server")
	}
	code, body, _, err := running[0].Get("/v1/peering/" + name)
	if err != nil {
		return nil, err
	}
	if code == 404 {
		return nil, nil
	}
	if code != 200 {
		return nil, fmt.Errorf("status %d: %s", code, body)
	}
	var p peeringStatus
	return &p, json.Unmarshal(body, &p)
}

func waitPeeringState(t *testing.T, c *harness.Cluster, name, want string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	harness.Eventually(t, timeout, func() error {
		p, err := readPeering(c, name)
		if err != nil {
			return err
		}
		if p == nil || p.State != want {
			return fmt.Errorf("%s on %s is %+v, want %s", name, c.Name, p, want)
		}
		return nil
	})
	return time.Since(start)
}

func registerFrontend(t *testing.T, s *harness.Server, node, id, status string) {
	t.Helper()
	body := fmt.Sprintf(`{"Node":%q,"Address":"10.2.0.1","Service":{"ID":%q,"Service":"frontend","Port":8080},
		"Checks":[{"CheckID":"%s-http","Name":"http","ServiceID":%q,"Status":%q}]}`, node, id, id, id, status)
	code, out, _, err := s.Do("PUT", "/v1/catalog/register", []byte(body))
	if err != nil || code != 200 {
		t.Fatalf("register %s: %d %s %v", id, code, out, err)
	}
}

// healthOf returns instance ID → overall-check status of service as
// imported from peer, read from any running server of c.
func healthOf(c *harness.Cluster, service, peer string) (map[string]string, error) {
	running := c.Running()
	if len(running) == 0 {
		return nil, fmt.Errorf("no running server")
	}
	code, body, _, err := running[0].Get("/v1/health/service/" + service + "?peer=" + peer)
	if err != nil || code != 200 {
		return nil, fmt.Errorf("health: %d %s %v", code, body, err)
	}
	var entries []struct {
		Node    struct{ PeerName string }
		Service struct{ ID, PeerName string }
		Checks  []struct{ CheckID, Status string }
	}
	if err := json.Unmarshal(body, &entries); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, e := range entries {
		if e.Node.PeerName != peer || e.Service.PeerName != peer || len(e.Checks) != 1 || e.Checks[0].CheckID != e.Service.ID+":overall-check" {
			return nil, fmt.Errorf("malformed imported instance %+v", e)
		}
		out[e.Service.ID] = e.Checks[0].Status
	}
	return out, nil
}

func waitHealth(t *testing.T, c *harness.Cluster, service, peer string, want map[string]string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	harness.Eventually(t, timeout, func() error {
		got, err := healthOf(c, service, peer)
		if err != nil {
			return err
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("%s on %s from %s = %v, want %v", service, c.Name, peer, got, want)
		}
		return nil
	})
	return time.Since(start)
}

func writeEntry(t *testing.T, s *harness.Server, dir, name, content string) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := writeFile(path, content); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, s.HTTPAddr(), "config", "write", path)
}

func TestPeeringTwoClustersEndToEnd(t *testing.T) {
	c1 := harness.NewCluster(t, 3, harness.ClusterOptions{Datacenter: "dc1"})
	c2 := harness.NewCluster(t, 3, harness.ClusterOptions{Datacenter: "dc2", ExtraArgs: []string{"-peering-token-ttl", tokenTTL.String()}})
	dir := t.TempDir()

	// Establish: cluster-02 accepts, cluster-01 dials (through followers).
	token := generateToken(t, c2.Followers()[0], "cluster-01")
	mustCLI(t, c1.Followers()[0].HTTPAddr(), "peering", "establish", "-name", "cluster-02", "-peering-token", token)

	// cluster-02 exports frontend; cluster-01 sees instances and health.
	registerFrontend(t, c2.Leader(), "fe-1", "frontend-1", "passing")
	registerFrontend(t, c2.Leader(), "fe-2", "frontend-2", "warning")
	writeEntry(t, c2.Leader(), dir, "export.hcl", `Kind = "exported-services"
Name = "default"
Services = [{ Name = "frontend", Consumers = [{ Peer = "cluster-01" }] }]
`)
	waitHealth(t, c1, "frontend", "cluster-02", map[string]string{"frontend-1": "passing", "frontend-2": "warning"}, 15*time.Second)
	waitPeeringState(t, c1, "cluster-02", "ACTIVE", 10*time.Second)
	waitPeeringState(t, c2, "cluster-01", "ACTIVE", 10*time.Second)
	if out := mustCLI(t, c1.Servers[0].HTTPAddr(), "peering", "list"); !strings.Contains(out, "cluster-02") || !strings.Contains(out, "ACTIVE") {
		t.Fatalf("peering list:\n%s", out)
	}
	harness.Eventually(t, 5*time.Second, func() error {
		out := mustCLI(t, c1.Servers[0].HTTPAddr(), "peering", "read", "-name", "cluster-02")
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "Imported Services:") && strings.HasSuffix(strings.TrimSpace(line), " frontend") {
				return nil
			}
		}
		return fmt.Errorf("peering read does not list frontend as imported:\n%s", out)
	})

	// A used token and a forged one are refused with clear errors.
	if _, errOut, code := cli(t, c1.Servers[0].HTTPAddr(), "peering", "establish", "-name", "again", "-peering-token", token); code != 1 || !strings.Contains(errOut, "already been used") {
		t.Fatalf("used token: exit %d: %s", code, errOut)
	}
	if _, errOut, code := cli(t, c1.Servers[0].HTTPAddr(), "peering", "establish", "-name", "forged", "-peering-token", forge(t, token)); code != 1 || !strings.Contains(errOut, "invalid peering establishment secret") {
		t.Fatalf("forged token: exit %d: %s", code, errOut)
	}

	// The seed chain, typed through the CLI, compiles with peer targets.
	for _, f := range []string{"_http-defaults.json", "peering-resolver-failover.hcl", "peering-splitter.hcl", "peering-resolver-redirect.hcl"} {
		mustCLI(t, c1.Servers[0].HTTPAddr(), "config", "write", filepath.Join(seedDir, f))
	}
	checkSeedChain(t, c1.Servers[0])

	surviveFaults(t, c1, c2, dir)
	deleteAndReestablish(t, c1, c2)
}

// surviveFaults: SIGKILL of cluster-02's leader, then a pause of the
// whole cluster, each followed by recovery and catch-up.
func surviveFaults(t *testing.T, c1, c2 *harness.Cluster, dir string) {
	// SIGKILL of cluster-02's leader: the stream resumes and catches up.
	c2.Leader().Kill(t)
	newLeader := c2.WaitForLeader(15 * time.Second)
	registerFrontend(t, newLeader, "fe-3", "frontend-3", "critical")
	resumed := waitHealth(t, c1, "frontend", "cluster-02", map[string]string{"frontend-1": "passing", "frontend-2": "warning", "frontend-3": "critical"}, 15*time.Second)
	t.Logf("after SIGKILL of cluster-02's leader, a new instance was visible in cluster-01 after %s", resumed)
	waitPeeringState(t, c1, "cluster-02", "ACTIVE", 10*time.Second)

	// SIGSTOP of cluster-02: FAILING within the heartbeat timeout (3 s).
	for _, s := range c2.Running() {
		s.Pause(t)
	}
	failing := waitPeeringState(t, c1, "cluster-02", "FAILING", 8*time.Second)
	t.Logf("FAILING shown %s after cluster-02 was paused", failing)
	// While paused, cluster-01 exports db; after SIGCONT cluster-02 catches up.
	registerDB(t, c1.Servers[0])
	writeEntry(t, c1.Servers[0], dir, "export1.hcl", `Kind = "exported-services"
Name = "default"
Services = [{ Name = "db", Consumers = [{ Peer = "cluster-02" }] }]
`)
	for _, s := range c2.Running() {
		s.Resume(t)
	}
	waitPeeringState(t, c1, "cluster-02", "ACTIVE", 20*time.Second)
	waitHealth(t, c2, "db", "cluster-01", map[string]string{"db-1": "passing"}, 20*time.Second)

}

// deleteAndReestablish deletes the peering from cluster-01, checks both
// sides clean up, re-establishes with a new token, and checks that an
// expired token is refused.
func deleteAndReestablish(t *testing.T, c1, c2 *harness.Cluster) {
	// Delete on cluster-01: imported data goes on both sides.
	mustCLI(t, c1.Servers[0].HTTPAddr(), "peering", "delete", "-name", "cluster-02")
	waitHealth(t, c1, "frontend", "cluster-02", map[string]string{}, 15*time.Second)
	waitHealth(t, c2, "db", "cluster-01", map[string]string{}, 15*time.Second)
	waitPeeringState(t, c2, "cluster-01", "TERMINATED", 15*time.Second)
	harness.Eventually(t, 15*time.Second, func() error {
		if p, err := readPeering(c1, "cluster-02"); err != nil || p != nil {
			return fmt.Errorf("cluster-01 still has the peering: %+v %v", p, err)
		}
		return nil
	})

	// Re-establish with a new token (the terminated record is deleted first).
	mustCLI(t, c2.Leader().HTTPAddr(), "peering", "delete", "-name", "cluster-01")
	harness.Eventually(t, 15*time.Second, func() error {
		if p, err := readPeering(c2, "cluster-01"); err != nil || p != nil {
			return fmt.Errorf("cluster-02 still has the peering: %+v %v", p, err)
		}
		return nil
	})
	token2 := generateToken(t, c2.Leader(), "cluster-01")
	generated := time.Now()
	mustCLI(t, c1.Servers[0].HTTPAddr(), "peering", "establish", "-name", "cluster-02", "-peering-token", token2)
	waitHealth(t, c1, "frontend", "cluster-02", map[string]string{"frontend-1": "passing", "frontend-2": "warning", "frontend-3": "critical"}, 15*time.Second)
	waitPeeringState(t, c1, "cluster-02", "ACTIVE", 10*time.Second)

	// An expired token is refused.
	token3 := generateToken(t, c2.Leader(), "cluster-03")
	harness.Eventually(t, 2*tokenTTL, func() error {
		if time.Since(generated) <= tokenTTL+time.Second {
			return fmt.Errorf("token not expired yet")
		}
		return nil
	})
	if _, errOut, code := cli(t, c1.Servers[0].HTTPAddr(), "peering", "establish", "-name", "cluster-03", "-peering-token", token3); code != 1 || !strings.Contains(errOut, "expired") {
		t.Fatalf("expired token: exit %d: %s", code, errOut)
	}
}

func registerDB(t *testing.T, s *harness.Server) {
	t.Helper()
	body := `{"Node":"db-node","Address":"10.1.0.9","Service":{"ID":"db-1","Service":"db","Port":5432},
		"Checks":[{"CheckID":"db-1-tcp","Name":"tcp","ServiceID":"db-1","Status":"passing"}]}`
	if code, out, _, err := s.Do("PUT", "/v1/catalog/register", []byte(body)); err != nil || code != 200 {
		t.Fatalf("register db: %d %s %v", code, out, err)
	}
}

// checkSeedChain reads frontend's chain and requires the failover target
// and the split to frontend-peer to land on cluster-02's frontend.
func checkSeedChain(t *testing.T, s *harness.Server) {
	t.Helper()
	code, body, _, err := s.Get("/v1/discovery-chain/frontend")
	if err != nil || code != 200 {
		t.Fatalf("chain: %d %s %v", code, body, err)
	}
	var out struct {
		Chain struct {
			Nodes   map[string]json.RawMessage
			Targets map[string]struct{ Service, Peer string }
		}
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	peerTargets := 0
	for id, tg := range out.Chain.Targets {
		if tg.Peer == "cluster-02" {
			peerTargets++
			if tg.Service != "frontend" || !strings.Contains(id, "cluster-02") {
				t.Fatalf("peer target %s = %+v", id, tg)
			}
		}
	}
	if peerTargets == 0 || !strings.Contains(string(body), `"StartNode":"splitter:frontend`) {
		t.Fatalf("seed chain lacks peer targets or the split:\n%s", body)
	}
}

func forge(t *testing.T, tok string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["EstablishmentSecret"] = "00000000-0000-4000-8000-000000000000"
	b, _ := json.Marshal(m)
	return base64.StdEncoding.EncodeToString(b)
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o644) }
