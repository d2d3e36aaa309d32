package agent

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/catalog"
)

// periodicCheck is a check of definition def run every 20 ms.
func periodicCheck(id string, def catalog.HealthCheckDefinition) *catalog.HealthCheck {
	def.Interval = catalog.Duration(20 * time.Millisecond)
	def.Timeout = catalog.Duration(2 * time.Second)
	c := testCheck(id, "")
	c.Definition, c.Type = def, def.Type()
	return c
}

// waitStatus polls the check until its status and output satisfy want.
func waitStatus(t *testing.T, l *localState, id, status, outputPart string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var got catalog.HealthCheck
	for time.Now().Before(deadline) {
		l.mu.Lock()
		got = *l.checks[id].check
		l.mu.Unlock()
		if got.Status == status && strings.Contains(got.Output, outputPart) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("check %s: status %q output %q, want %q with %q", id, got.Status, got.Output, status, outputPart)
}

// An HTTP check follows its target: 2xx passing, 429 warning, other codes
// critical, with Consul's output; its method, headers and body are sent;
// each change asks for a sync; and a removed check is no longer run.
func TestLocalHTTPCheckRuns(t *testing.T) {
	var code atomic.Int32
	code.Store(200)
	var hits atomic.Int64
	var sawRequest atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		body := make([]byte, 64)
		n, _ := r.Body.Read(body)
		sawRequest.Store(fmt.Sprintf("%s %s %s %s", r.Method, r.Header.Get("X-Probe"), r.Header.Get("User-Agent"), body[:n]))
		w.WriteHeader(int(code.Load()))
		fmt.Fprint(w, strings.Repeat("ok", 100))
	}))
	defer srv.Close()

	var l localState
	defer l.stop()
	requests := l.syncRequests()
	check := periodicCheck("web-http", catalog.HealthCheckDefinition{
		HTTP: srv.URL + "/health", Method: "POST", Body: "ping", Header: map[string][]string{"X-Probe": {"yes"}}, OutputMaxSize: 10,
	})
	if err := l.addCheck(check, 0); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, &l, "web-http", catalog.HealthPassing, "HTTP POST "+srv.URL+"/health: 200 OK Output: okokokokok")
	if got := sawRequest.Load(); got != "POST yes Consul Health Check ping" {
		t.Fatalf("request seen by the target: %q", got)
	}
	select {
	case <-requests:
	default:
		t.Fatal("a status change did not ask for a sync pass")
	}
	expectOps(t, &l, "register check web-http")
	syncAll(&l)

	code.Store(http.StatusTooManyRequests)
	waitStatus(t, &l, "web-http", catalog.HealthWarning, "429 Too Many Requests")
	code.Store(http.StatusServiceUnavailable)
	waitStatus(t, &l, "web-http", catalog.HealthCritical, "503 Service Unavailable")
	srv.CloseClientConnections()
	code.Store(204)
	waitStatus(t, &l, "web-http", catalog.HealthPassing, "204 No Content")

	if !l.removeCheck("web-http") {
		t.Fatal("removeCheck")
	}
	// A run that had started before the removal may still land; after a
	// few intervals the count must stand still.
	time.Sleep(100 * time.Millisecond)
	before := hits.Load()
	time.Sleep(200 * time.Millisecond)
	if after := hits.Load(); after != before {
		t.Fatalf("a removed check is still run: %d more requests", after-before)
	}
}

// A TCP check is passing while something accepts connections and critical
// once nothing does.
func TestLocalTCPCheckRuns(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	addr := ln.Addr().String()
	var l localState
	defer l.stop()
	if err := l.addCheck(periodicCheck("db-tcp", catalog.HealthCheckDefinition{TCP: addr}), 0); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, &l, "db-tcp", catalog.HealthPassing, "TCP connect "+addr+": Success")
	ln.Close()
	waitStatus(t, &l, "db-tcp", catalog.HealthCritical, "connection refused")
}

// Checks of types this agent does not run keep their registered status,
// and stop() ends every runner.
func TestLocalCheckRunnersStopAndSkipOtherTypes(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	var l localState
	script := periodicCheck("script", catalog.HealthCheckDefinition{ScriptArgs: []string{"true"}})
	if err := l.addCheck(script, 0); err != nil {
		t.Fatal(err)
	}
	if l.checks["script"].stopRun != nil {
		t.Fatal("a script check got a runner")
	}
	if err := l.addCheck(periodicCheck("web", catalog.HealthCheckDefinition{HTTP: srv.URL}), 0); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, &l, "web", catalog.HealthPassing, "200 OK")
	l.stop()
	time.Sleep(100 * time.Millisecond)
	before := hits.Load()
	time.Sleep(200 * time.Millisecond)
	if after := hits.Load(); after != before {
		t.Fatalf("stop left a runner: %d more requests", after-before)
	}
	if l.checks["script"].check.Status != catalog.HealthCritical {
		t.Fatalf("the script check changed: %+v", l.checks["script"].check)
	}
}
