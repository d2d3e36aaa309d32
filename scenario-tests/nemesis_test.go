package scenariotests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/switchyard/switchyard/scenario-tests/harness"
	"github.com/switchyard/switchyard/scenario-tests/history"
)

var (
	nemesisDuration = flag.Duration("nemesis.duration", 2*time.Minute,
		"how long the nemesis scenarios inject faults (go test -timeout 0 ./scenario-tests -run Nemesis -nemesis.duration=20m)")
	nemesisSeed = flag.Int64("nemesis.seed", 0, "seed of the nemesis's choices; 0 picks one from the clock (the test logs it)")
)

// nemesisClient is an HTTP client whose timeout outlasts the servers' hold
// timeout (7 s) for a request that meets an election, so most requests end
// with a definite answer.
var nemesisClient = &http.Client{Timeout: 12 * time.Second}

// callOutcome classifies what a client learnt from a request.
type callOutcome int

const (
	answered   callOutcome = iota // a response with a status code
	notSent                       // the connection was never made: nothing happened
	indefinite                    // sent, but no answer: it may have happened
)

func call(method, url string, body []byte) (int, []byte, callOutcome) {
	req, err := http.NewRequestWithContext(context.Background(), method, url, bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	resp, err := nemesisClient.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return 0, nil, notSent
		}
		return 0, nil, indefinite
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, indefinite
	}
	return resp.StatusCode, b, answered
}

// registerKey is a config entry used as a register: a service-defaults
// entry whose Meta["v"] holds the value.
func registerKey(i int) string { return "nem-" + strconv.Itoa(i) }

// readRegister performs a ?consistent read: value ("" when absent), its
// ModifyIndex, and whether the read succeeded.
func readRegister(s *harness.Server, key string) (string, uint64, bool) {
	code, body, out := call("GET", "http://"+s.HTTPAddr()+"/v1/config/service-defaults/"+key+"?consistent", nil)
	if out != answered {
		return "", 0, false
	}
	switch code {
	case 404:
		return "", 0, true
	case 200:
		var e struct {
			Meta        map[string]string
			ModifyIndex uint64
		}
		if json.Unmarshal(body, &e) != nil {
			return "", 0, false
		}
		return e.Meta["v"], e.ModifyIndex, true
	}
	return "", 0, false
}

// nemesisWorkload drives the clients of one run and records what they saw.
type nemesisWorkload struct {
	t       *testing.T
	servers []*harness.Server
	rec     *history.Recorder
	keys    int

	stop chan struct{}
	wg   sync.WaitGroup

	mu           sync.Mutex
	registered   []string // nodes whose registration was acknowledged
	regAttempts  int
	unexpected   []string // answers that break the API's contract
	readFailures atomic.Int64
}

func (w *nemesisWorkload) server(r *rand.Rand) *harness.Server {
	return w.servers[r.Intn(len(w.servers))]
}

func (w *nemesisWorkload) unexpectedf(format string, args ...any) {
	w.mu.Lock()
	w.unexpected = append(w.unexpected, fmt.Sprintf(format, args...))
	w.mu.Unlock()
}

// registerClient alternates ?consistent reads and CAS writes on random keys
// through random servers. Each CAS uses the index of the client's own read
// just before it, so it competes with the other clients.
func (w *nemesisWorkload) registerClient(id int, seed int64) {
	defer w.wg.Done()
	r := rand.New(rand.NewSource(seed))
	for seq := 0; ; seq++ {
		select {
		case <-w.stop:
			return
		default:
		}
		key := registerKey(r.Intn(w.keys))
		s := w.server(r)
		start := w.rec.Now()
		cur, idx, ok := readRegister(s, key)
		if !ok {
			w.readFailures.Add(1)
			time.Sleep(50 * time.Millisecond) // do not spin on a dead server
			continue
		}
		w.rec.ReadDone(id, key, cur, start)
		if r.Intn(3) == 0 { // reads only, now and then
			continue
		}
		val := fmt.Sprintf("c%d-%d", id, seq)
		body := fmt.Sprintf(`{"Kind":"service-defaults","Name":%q,"Protocol":"http","Meta":{"v":%q}}`, key, val)
		s = w.server(r)
		start = w.rec.Now()
		code, out, how := call("PUT", fmt.Sprintf("http://%s/v1/config?cas=%d", s.HTTPAddr(), idx), []byte(body))
		switch {
		case how == notSent:
			// Never reached a server: not an operation.
		case how == indefinite || code >= 500:
			w.rec.CASUnknown(id, key, cur, val, start)
		case code == 200 && (string(out) == "true" || string(out) == "false"):
			w.rec.CASDone(id, key, cur, val, string(out) == "true", start)
		default:
			w.unexpectedf("CAS %s via %s: %d %s", key, s.Name, code, out)
		}
	}
}

// catalogClient registers a new node each time; acknowledged ones must all
// be present at the end.
func (w *nemesisWorkload) catalogClient(seed int64) {
	defer w.wg.Done()
	r := rand.New(rand.NewSource(seed))
	for seq := 0; ; seq++ {
		select {
		case <-w.stop:
			return
		default:
		}
		node := fmt.Sprintf("nem-node-%d", seq)
		body := fmt.Sprintf(`{"Node":%q,"Address":"10.9.%d.%d"}`, node, seq/250%250, seq%250+1)
		s := w.server(r)
		code, out, how := call("PUT", "http://"+s.HTTPAddr()+"/v1/catalog/register", []byte(body))
		w.mu.Lock()
		w.regAttempts++
		if how == answered && code == 200 {
			if string(out) != "true" {
				w.unexpected = append(w.unexpected, fmt.Sprintf("register %s: 200 %s", node, out))
			}
			w.registered = append(w.registered, node)
		}
		w.mu.Unlock()
		if how == notSent {
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// nemesis injects one fault at a time into one or more clusters: it
// applies a fault, holds it for a few seconds, repairs it and lets the
// clusters settle briefly.
type nemesis struct {
	t        *testing.T
	clusters []*harness.Cluster
	net      *harness.Net // nil: no partitions on this machine
	r        *rand.Rand
	counts   map[string]int
}

type fault struct {
	name  string
	apply func() (repair func())
}

func (n *nemesis) all() []*harness.Server {
	var out []*harness.Server
	for _, c := range n.clusters {
		out = append(out, c.Servers...)
	}
	return out
}

func (n *nemesis) faults() []fault {
	all := n.all()
	pick := func() *harness.Server { return all[n.r.Intn(len(all))] }
	pickOther := func(not *harness.Server) *harness.Server {
		for {
			if s := pick(); s != not {
				return s
			}
		}
	}
	leaderOr := func() *harness.Server {
		if l := n.clusters[n.r.Intn(len(n.clusters))].Leader(); l != nil {
			return l
		}
		return pick()
	}
	restart := func(s *harness.Server) func() { return func() { s.Start(n.t) } }
	fs := []fault{
		{"kill", func() func() { s := pick(); s.Kill(n.t); return restart(s) }},
		{"kill-leader", func() func() { s := leaderOr(); s.Kill(n.t); return restart(s) }},
		{"kill-two", func() func() {
			a := pick()
			b := pickOther(a)
			a.Kill(n.t)
			b.Kill(n.t)
			return func() { a.Start(n.t); b.Start(n.t) }
		}},
		{"pause", func() func() { s := pick(); s.Pause(n.t); return func() { s.Resume(n.t) } }},
		{"pause-leader", func() func() { s := leaderOr(); s.Pause(n.t); return func() { s.Resume(n.t) } }},
		{"graceful-restart", func() func() { s := pick(); s.Stop(n.t); return restart(s) }},
	}
	if n.net == nil {
		return fs
	}
	fs = append(fs,
		fault{"isolate-leader", func() func() { n.net.Isolate(leaderOr().Name); return n.net.Heal }},
		fault{"isolate", func() func() { n.net.Isolate(pick().Name); return n.net.Heal }},
		fault{"one-way-from-leader", func() func() {
			l := leaderOr()
			n.net.DropOneWay(l.Name, pickOther(l).Name)
			return n.net.Heal
		}},
	)
	if len(n.clusters) == 1 {
		fs = append(fs, fault{"split-majority-minority", func() func() {
			names := names(all)
			n.r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
			k := (len(names) - 1) / 2
			n.net.Split(names[:k], names[k:])
			return n.net.Heal
		}})
	} else {
		fs = append(fs, fault{"split-clusters", func() func() {
			n.net.Split(names(n.clusters[0].Servers), names(n.all()[len(n.clusters[0].Servers):]))
			return n.net.Heal
		}})
	}
	return fs
}

func names(servers []*harness.Server) []string {
	var out []string
	for _, s := range servers {
		out = append(out, s.Name)
	}
	return out
}

// repairAll heals partitions and resumes or restarts every server.
func (n *nemesis) repairAll() {
	if n.net != nil {
		n.net.Heal()
	}
	for _, s := range n.all() {
		if !s.Running() {
			s.Start(n.t)
		}
	}
	for _, c := range n.clusters {
		c.WaitForLeader(60 * time.Second)
	}
}

// run injects faults until d has passed.
func (n *nemesis) run(d time.Duration) {
	fs := n.faults()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		f := fs[n.r.Intn(len(fs))]
		repair := f.apply()
		n.counts[f.name]++
		time.Sleep(time.Duration(2000+n.r.Intn(4000)) * time.Millisecond) // the fault holds
		repair()
		time.Sleep(time.Duration(500+n.r.Intn(2000)) * time.Millisecond) // settle
	}
}

func (n *nemesis) summary() string {
	var names []string
	total := 0
	for k, v := range n.counts {
		names = append(names, fmt.Sprintf("%s×%d", k, v))
		total += v
	}
	sort.Strings(names)
	return fmt.Sprintf("%d faults (%s)", total, strings.Join(names, ", "))
}

// nemesisCheckMargin is the time a nemesis scenario needs besides its
// fault-injection phase: starting the clusters and checking the history.
const nemesisCheckMargin = 3 * time.Minute

// nemesisSetup picks the seed and makes the test network, or says plainly
// that partitions are not available here.
func nemesisSetup(t *testing.T, d time.Duration) (int64, *harness.Net) {
	// go test's -timeout (10m unless given) would otherwise kill a long
	// run near its end with a goroutine dump instead of a verdict.
	if deadline, ok := t.Deadline(); ok && time.Until(deadline) < d+nemesisCheckMargin {
		t.Fatalf("-nemesis.duration=%s does not fit in what is left of go test's -timeout (%s): the run also needs about %s to start and check; pass -timeout 0 or a longer -timeout",
			d, time.Until(deadline).Round(time.Second), nemesisCheckMargin)
	}
	seed := *nemesisSeed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("nemesis seed %d (rerun with -nemesis.seed=%d), duration %s", seed, seed, d)
	netw, err := harness.NewNet(t)
	if err != nil {
		t.Logf("PARTITIONS NOT INJECTED: %v; the nemesis uses kills, pauses and restarts only", err)
		return seed, nil
	}
	return seed, netw
}

// TestNemesisFiveServers runs CAS writers, consistent readers and catalog
// writers against five servers while the nemesis kills, pauses, restarts
// and partitions them; then it heals everything and checks that the CAS
// and read history is linearizable, that every acknowledged registration
// is on every server, and that all servers hold identical state.
func TestNemesisFiveServers(t *testing.T) {
	seed, netw := nemesisSetup(t, *nemesisDuration)
	c := harness.NewCluster(t, 5, harness.ClusterOptions{Net: netw})
	w := &nemesisWorkload{t: t, servers: c.Servers, rec: history.NewRecorder(), keys: 5, stop: make(chan struct{})}
	r := rand.New(rand.NewSource(seed))
	for i := 0; i < 6; i++ {
		w.wg.Add(1)
		go w.registerClient(i, r.Int63())
	}
	w.wg.Add(1)
	go w.catalogClient(r.Int63())

	nem := &nemesis{t: t, clusters: []*harness.Cluster{c}, net: netw, r: r, counts: map[string]int{}}
	nem.run(*nemesisDuration)
	close(w.stop)
	w.wg.Wait()

	// Heal: every server running and reachable, a leader elected.
	nem.repairAll()
	leader := c.WaitForLeader(60 * time.Second)
	// Final reads, recorded, pin down the last value of every key.
	for k := 0; k < w.keys; k++ {
		key := registerKey(k)
		harness.Eventually(t, 30*time.Second, func() error {
			start := w.rec.Now()
			v, _, ok := readRegister(leader, key)
			if !ok {
				return fmt.Errorf("final read of %s failed", key)
			}
			w.rec.ReadDone(100, key, v, start)
			return nil
		})
	}

	ops, st := w.rec.Operations()
	t.Logf("history: %d operations: %s; %d reads failed and were not recorded", len(ops), st, w.readFailures.Load())
	t.Logf("catalog: %d registrations acknowledged of %d attempted", len(w.registered), w.regAttempts)
	t.Logf("nemesis: %s", nem.summary())
	if len(w.unexpected) > 0 {
		t.Errorf("answers outside the API contract (%d), first: %s", len(w.unexpected), w.unexpected[0])
	}
	if st.CASOK == 0 || st.Reads == 0 {
		t.Fatalf("the workload made no progress: %s", st)
	}
	viz := filepath.Join(os.TempDir(), fmt.Sprintf("switchyard-nemesis-%d.html", seed))
	checkStart := time.Now()
	res, err := history.Check(ops, 5*time.Minute, viz)
	if err != nil {
		t.Error(err)
	}
	t.Logf("linearizability: %s in %s", res, time.Since(checkStart).Round(time.Millisecond))
	switch res {
	case porcupine.Illegal:
		t.Errorf("the history is not linearizable; porcupine's visualisation: %s", viz)
	case porcupine.Unknown:
		t.Errorf("the linearizability check timed out; visualisation: %s", viz)
	}

	d := c.WaitConverged(60 * time.Second)
	t.Logf("all 5 servers converged: index %d, hash %s", d.Index, d.Hash[:16])
	for _, s := range c.Servers {
		code, body, _, err := s.Get("/v1/catalog/nodes?stale")
		if err != nil || code != 200 {
			t.Fatalf("%s: nodes: %d %v", s.Name, code, err)
		}
		var nodes []struct{ Node string }
		if err := json.Unmarshal(body, &nodes); err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, n := range nodes {
			have[n.Node] = true
		}
		if m := missing(w.registered, have); len(m) > 0 {
			t.Errorf("%s lost %d acknowledged registrations, e.g. %v", s.Name, len(m), first(m))
		}
	}
}
