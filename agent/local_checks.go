package agent

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/switchyard/switchyard/catalog"
)

// Periodic checks: HTTP and TCP checks registered with this agent are run
// every Interval, as Consul's agent runs them, and a change of status or
// output is synced to the catalog like a TTL update. Other periodic types
// (script, gRPC, UDP, H2PING, OS service, Docker) and alias checks keep the
// status they were registered with.

// defaultCheckTimeout is Consul's timeout for a check that sets none.
const defaultCheckTimeout = 10 * time.Second

// checkUserAgent is the User-Agent of HTTP checks that set none, Consul's.
const checkUserAgent = "Consul Health Check"

// probe runs a check once and returns its status and output.
type probe func(ctx context.Context) (status, output string)

// probeFor returns how to run a check of definition def, or nil for the
// types this agent does not run.
func probeFor(def *catalog.HealthCheckDefinition) probe {
	switch def.Type() {
	case "http":
		return httpProbe(def)
	case "tcp":
		return tcpProbe(def)
	}
	return nil
}

// httpProbe is Consul's HTTP check: Method (GET) to HTTP with Header and
// Body; 2xx is passing, 429 Too Many Requests warning, anything else or no
// answer critical. The output names the request and status and holds the
// start of the response body, up to the check's output limit.
func httpProbe(def *catalog.HealthCheckDefinition) probe {
	method := def.Method
	if method == "" {
		method = http.MethodGet
	}
	client := &http.Client{Transport: &http.Transport{
		// A check is a fresh look at the target each time, and an idle
		// connection per check would pile up across many checks.
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: def.TLSSkipVerify, ServerName: def.TLSServerName},
	}}
	if def.DisableRedirects {
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	limit := int64(def.OutputMaxSize)
	if limit <= 0 {
		limit = defaultOutputMaxSize
	}
	return func(ctx context.Context) (string, string) {
		req, err := http.NewRequestWithContext(ctx, method, def.HTTP, strings.NewReader(def.Body))
		if err != nil {
			return catalog.HealthCritical, err.Error()
		}
		for k, vs := range def.Header {
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
		if req.Header.Get("User-Agent") == "" {
			req.Header.Set("User-Agent", checkUserAgent)
		}
		if req.Header.Get("Accept") == "" {
			req.Header.Set("Accept", "text/plain, text/*, */*")
		}
		resp, err := client.Do(req)
		if err != nil {
			return catalog.HealthCritical, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, limit))
		output := fmt.Sprintf("HTTP %s %s: %s Output: %s", method, def.HTTP, resp.Status, body)
		switch {
		case resp.StatusCode >= 200 && resp.StatusCode <= 299:
			return catalog.HealthPassing, output
		case resp.StatusCode == http.StatusTooManyRequests:
			return catalog.HealthWarning, output
		}
		return catalog.HealthCritical, output
	}
}

// tcpProbe is Consul's TCP check: passing when a connection (a TLS
// handshake with TCPUseTLS) to TCP succeeds, critical otherwise.
func tcpProbe(def *catalog.HealthCheckDefinition) probe {
	return func(ctx context.Context) (string, string) {
		var conn net.Conn
		var err error
		if def.TCPUseTLS {
			d := &tls.Dialer{Config: &tls.Config{InsecureSkipVerify: def.TLSSkipVerify, ServerName: def.TLSServerName}}
			conn, err = d.DialContext(ctx, "tcp", def.TCP)
		} else {
			conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", def.TCP)
		}
		if err != nil {
			return catalog.HealthCritical, err.Error()
		}
		conn.Close()
		return catalog.HealthPassing, fmt.Sprintf("TCP connect %s: Success", def.TCP)
	}
}

// startRunnerLocked runs lc's check every Interval until stopTimerLocked
// cancels it. The first run comes after a random part of the interval, so
// that checks registered together do not all run at once (Consul staggers
// them too). A result from a runner that was stopped in the meantime
// changes nothing: it carries the generation it was started with.
func (l *localState) startRunnerLocked(lc *localCheck) {
	def := lc.check.Definition
	run := probeFor(&def)
	if run == nil || l.stopped {
		return
	}
	interval := time.Duration(def.Interval)
	timeout := time.Duration(def.Timeout)
	if timeout <= 0 {
		timeout = defaultCheckTimeout
	}
	ctx, cancel := context.WithCancel(context.Background())
	lc.stopRun = cancel
	gen := lc.timerGen
	go func() {
		timer := time.NewTimer(rand.N(interval) + 1)
		defer timer.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			pctx, pcancel := context.WithTimeout(ctx, timeout)
			status, output := run(pctx)
			pcancel()
			if ctx.Err() != nil {
				return
			}
			l.probed(lc, gen, status, output)
			timer.Reset(interval)
		}
	}()
}

// probed records a run's result, and asks for a sync when it changed the
// check. The probe already capped what it captured (an HTTP body at the
// output limit), as Consul does, so the output is stored whole.
func (l *localState) probed(lc *localCheck, gen uint64, status, output string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.checks[lc.check.CheckID] != lc || lc.timerGen != gen || lc.deleted {
		return
	}
	if l.setStatusLocked(lc, status, output) {
		l.requestSyncLocked()
	}
}
