package peering

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/switchyard/switchyard/fsm"
	"github.com/switchyard/switchyard/rpc"
	"github.com/switchyard/switchyard/rpc/pb"
)

// dial opens a client connection to one peer server. grpc.NewClient does
// not connect yet; the first RPC does, bounded by DialTimeout.
func dial(addr string, caPEMs []string, serverName string, timeout time.Duration) (*grpc.ClientConn, error) {
	tlsCfg, err := ClientTLS(caPEMs, serverName)
	if err != nil {
		return nil, err
	}
	creds := insecure.NewCredentials()
	if tlsCfg != nil {
		creds = credentials.NewTLS(tlsCfg)
	}
	return grpc.NewClient(addr, grpc.WithTransportCredentials(creds),
		grpc.WithConnectParams(grpc.ConnectParams{MinConnectTimeout: timeout, Backoff: backoff.DefaultConfig}))
}

// Exchange trades the token's establishment secret for a stream secret,
// trying each address of the token in turn and following a follower's
// redirect to its leader. The error lists every attempt.
func Exchange(ctx context.Context, tok *Token, timeout time.Duration) (string, error) {
	var errs []string
	refused := false
	for _, addr := range DialAddresses(tok.ManualServerAddresses, tok.ServerAddresses) {
		secret, err := exchangeAt(ctx, tok, addr, timeout)
		if leader, ok := LeaderRedirect(err); ok && leader != addr {
			secret, err = exchangeAt(ctx, tok, leader, timeout)
			addr = leader
		}
		if err == nil {
			return secret, nil
		}
		errs = append(errs, fmt.Sprintf("%s: %v", addr, err))
		if isRefusal(err) {
			// The peer answered and said no: other servers will too.
			refused = true
			break
		}
	}
	return "", &ExchangeError{Refused: refused, Msg: "peering establishment failed: " + strings.Join(errs, "; ")}
}

// ExchangeError is a failed secret exchange. Refused is set when the peer
// answered and rejected the token (bad, used or expired secret, unknown
// peering) rather than being unreachable.
type ExchangeError struct {
	Refused bool
	Msg     string
}

func (e *ExchangeError) Error() string { return e.Msg }

func exchangeAt(ctx context.Context, tok *Token, addr string, timeout time.Duration) (string, error) {
	conn, err := dial(addr, tok.CA, tok.ServerName, timeout)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := pb.NewPeerStreamClient(conn).ExchangeSecret(ctx, &pb.ExchangeSecretRequest{
		Version: rpc.PeeringProtocolMax, PeerId: tok.PeerID, EstablishmentSecret: tok.EstablishmentSecret})
	if err != nil {
		return "", err
	}
	return resp.StreamSecret, nil
}

// dialLoop keeps a stream to the peer open while the record is live and
// this server leads: connect, run the session, and on failure wait with
// exponential backoff and try the next known address. A follower's
// redirect is followed at once. Once drain closes it starts no new attempt
// but lets the current one run to its end (see dialerHandle).
func (m *Manager) dialLoop(ctx context.Context, id string, drain <-chan struct{}) {
	wait := m.cfg.RedialMin
	next := 0
	redirect := ""
	for ctx.Err() == nil && !closed(drain) {
		_, rec, err := m.backend.Store().PeeringByID(nil, id)
		if err != nil || rec == nil || !rec.IsLive() {
			return
		}
		sec, err := m.backend.Store().PeeringSecretsFor(id)
		if err != nil || sec == nil || sec.ActiveStream == "" {
			return
		}
		addrs := DialAddresses(rec.ManualServerAddresses, rec.PeerServerAddresses)
		addr := redirect
		if addr == "" {
			addr = addrs[next%len(addrs)]
			next++
		}
		redirect = ""
		started := time.Now()
		err = m.dialOnce(ctx, rec, sec.ActiveStream, addr, drain)
		if leader, ok := LeaderRedirect(err); ok && leader != addr {
			redirect = leader
			continue
		}
		if errors.Is(err, errTerminatedPeer) || errors.Is(err, errDeletedLocally) || ctx.Err() != nil {
			return
		}
		if err != nil {
			m.tracker.failed(id, err, time.Now())
			m.log.Warn("peering stream ended", "peering", rec.Name, "address", addr, "error", err)
		}
		// A stream that lived a while was healthy: start backing off anew.
		if time.Since(started) > m.cfg.HeartbeatTimeout {
			wait = m.cfg.RedialMin
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-drain:
		case <-t.C:
		}
		t.Stop()
		wait = min(2*wait, m.cfg.RedialMax)
	}
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// dialOnce runs one stream to addr until it ends.
func (m *Manager) dialOnce(ctx context.Context, rec *fsm.Peering, secret, addr string, drain <-chan struct{}) error {
	conn, err := dial(addr, rec.PeerCAPems, rec.PeerServerName, m.cfg.DialTimeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	streamCtx, cancel := context.WithCancel(ctx)
	// Cancelling the stream's context ends the session's receive and send
	// goroutines; do it before closing the connection.
	defer cancel()
	stream, err := pb.NewPeerStreamClient(conn).StreamResources(streamCtx)
	if err != nil {
		return err
	}
	open := &pb.ReplicationMessage{Payload: &pb.ReplicationMessage_Open_{Open: &pb.ReplicationMessage_Open{
		Version: rpc.PeeringProtocolMax, PeerId: rec.PeerID, StreamSecretId: secret,
		Remote: &pb.Remote{Datacenter: m.backend.Datacenter()},
	}}}
	if err := stream.Send(open); err != nil {
		return err
	}
	if m.hooks != nil && m.hooks.beforeSession != nil {
		m.hooks.beforeSession(streamCtx, drain)
	}
	err = m.runSession(streamCtx, stream, rec, true)
	_ = stream.CloseSend()
	return err
}

// isRefusal reports whether the peer answered and refused (a bad, used or
// expired secret, an unknown peering), as opposed to being unreachable.
func isRefusal(err error) bool {
	switch status.Code(err) {
	case codes.PermissionDenied, codes.NotFound, codes.InvalidArgument:
		return true
	}
	return false
}
