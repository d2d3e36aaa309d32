package agent

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/switchyard/switchyard/fsm"
	"github.com/switchyard/switchyard/peering"
	"github.com/switchyard/switchyard/rpc/pb"
)

// Cluster peering wiring: the TLS peering listener every server runs, the
// cluster CA kept in Raft, and the peering manager the leader runs.

// System metadata keys of the peering CA (PEM). Set once by the first
// leader; see peering/ca.go for why the key lives in Raft.
const (
	metaPeeringCACert = "peering_ca_cert"
	metaPeeringCAKey  = "peering_ca_key"
)

// peeringParts is the agent's peering state.
type peeringParts struct {
	srv     *grpc.Server
	tracker *peering.Tracker

	mu      sync.Mutex
	manager *peering.Manager
	certFor string // CA PEM the cached certificate was signed by
	cert    *tls.Certificate
}

func (p *peeringParts) currentManager() *peering.Manager {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.manager
}

func (p *peeringParts) setManager(m *peering.Manager) {
	p.mu.Lock()
	p.manager = m
	p.mu.Unlock()
}

// peeringBackend gives the peering package what it needs of the agent.
type peeringBackend struct{ a *Agent }

var _ peering.Backend = peeringBackend{}

func (b peeringBackend) Store() *fsm.Store { return b.a.state.store() }
func (b peeringBackend) IsLeader() bool    { return b.a.isLeader() }
func (b peeringBackend) Datacenter() string {
	return b.a.config.Datacenter
}

func (b peeringBackend) Apply(cmd []byte) (*fsm.ApplyResult, error) { return b.a.raftApply(cmd) }

// LeaderAddress finds the leader's peering address through gossip: the
// member whose node ID is the Raft leader's, at its advertised grpc port.
func (b peeringBackend) LeaderAddress() string {
	_, id := b.a.raft.raft.LeaderWithID()
	if id == "" {
		return ""
	}
	for _, m := range b.a.lan.Members() {
		if raft.ServerID(m.Tags["id"]) == id && m.Tags["grpc"] != "" && m.Tags["grpc"] != "0" {
			return net.JoinHostPort(m.Addr, m.Tags["grpc"])
		}
	}
	return ""
}

// startPeering binds the peering listener (resolving port 0 before gossip
// advertises it) and serves the PeerStream service over TLS with the
// server certificate derived from the cluster CA. Until the first leader
// has created the CA, handshakes fail and dialers retry.
func (a *Agent) startPeering() error {
	c := a.config
	ln, err := net.Listen("tcp", net.JoinHostPort(c.BindAddr, strconv.Itoa(c.Ports.GRPC)))
	if err != nil {
		return fmt.Errorf("grpc (peering) port: %w", err)
	}
	c.Ports.GRPC = ln.Addr().(*net.TCPAddr).Port
	p := &peeringParts{tracker: peering.NewTracker()}
	a.peering = p
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return a.peeringCertificate()
	}}
	p.srv = grpc.NewServer(grpc.Creds(credentials.NewTLS(tlsCfg)))
	pb.RegisterPeerStreamServer(p.srv, &peering.Server{Backend: peeringBackend{a}, Config: c.Peering, Manager: p.currentManager})
	a.goRun(func() { _ = p.srv.Serve(ln) })
	a.goRun(func() {
		<-a.shutdownCh
		p.srv.Stop()
	})
	return nil
}

// peeringCertificate returns this server's certificate for
// server.<dc>.peering.<trust-domain>, signing a new one when the CA changed.
func (a *Agent) peeringCertificate() (*tls.Certificate, error) {
	store := a.state.store()
	_, caPEM, err := store.SystemMeta(nil, metaPeeringCACert)
	if err != nil {
		return nil, err
	}
	_, keyPEM, err := store.SystemMeta(nil, metaPeeringCAKey)
	if err != nil {
		return nil, err
	}
	if caPEM == "" || keyPEM == "" {
		return nil, fmt.Errorf("the peering CA is not initialised yet")
	}
	p := a.peering
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cert != nil && p.certFor == caPEM {
		return p.cert, nil
	}
	name, err := a.peeringServerName()
	if err != nil {
		return nil, err
	}
	cert, err := peering.ServerCertificate(caPEM, keyPEM, name, time.Now())
	if err != nil {
		return nil, err
	}
	p.cert, p.certFor = cert, caPEM
	return cert, nil
}

// peeringServerName is the TLS name of this cluster's servers.
func (a *Agent) peeringServerName() (string, error) {
	td, err := a.trustDomain(nil, a.state.store())
	if err != nil {
		return "", err
	}
	return peering.ServerName(a.config.Datacenter, td), nil
}

// ensurePeeringCA creates the cluster CA once; racing leaders agree on the
// first one committed because the writes keep an existing value.
func (a *Agent) ensurePeeringCA() error {
	store := a.state.store()
	if _, cert, err := store.SystemMeta(nil, metaPeeringCACert); err != nil || cert != "" {
		return err
	}
	td, err := a.trustDomain(nil, store)
	if err != nil {
		return err
	}
	certPEM, keyPEM, err := peering.GenerateCA(td, time.Now())
	if err != nil {
		return err
	}
	// The key first: a reader that sees the certificate finds its key.
	for _, kv := range [][2]string{{metaPeeringCAKey, keyPEM}, {metaPeeringCACert, certPEM}} {
		cmd, err := fsm.EncodeSystemMetaSet(kv[0], kv[1], true)
		if err != nil {
			return err
		}
		if _, err := a.raftApply(cmd); err != nil {
			return err
		}
	}
	_, stored, err := store.SystemMeta(nil, metaPeeringCAKey)
	if err == nil && stored != keyPEM {
		return fmt.Errorf("a concurrent leader stored another CA key; retrying")
	}
	a.logger.Info("initialised the peering CA", "trust_domain", td)
	return nil
}

// startPeeringLeader runs the peering manager for one leadership term; the
// returned function waits for it after stop has closed.
func (a *Agent) startPeeringLeader(stop chan struct{}) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			err := a.ensurePeeringCA()
			if err == nil {
				break
			}
			a.logger.Debug("peering CA not initialised yet, will retry", "error", err)
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
		m := peering.NewManager(a.config.Peering, peeringBackend{a}, a.peering.tracker, a.logger.Named("peering"))
		a.peering.setManager(m)
		defer a.peering.setManager(nil)
		m.Run(stop)
	}()
	return func() { <-done }
}
