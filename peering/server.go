package peering

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/switchyard/switchyard/fsm"
	"github.com/switchyard/switchyard/rpc"
	"github.com/switchyard/switchyard/rpc/pb"
)

// Server is the PeerStream gRPC service every server registers on its
// peering listener. Only the leader serves: a follower answers
// FailedPrecondition with the leader's address so the dialer redials it.
type Server struct {
	pb.UnimplementedPeerStreamServer
	Backend Backend
	Config  Config
	// Manager returns the running leader manager, or nil on a follower.
	Manager func() *Manager
}

var _ pb.PeerStreamServer = (*Server)(nil)

// notLeader is the redirect answer of a follower (or of a leader whose
// manager is not running yet or any more).
func notLeader(addr string) error {
	st := status.New(codes.FailedPrecondition, "this server is not the leader of its cluster")
	if addr != "" {
		if d, err := st.WithDetails(&pb.LeaderAddress{Address: addr}); err == nil {
			st = d
		}
	}
	return st.Err()
}

// LeaderRedirect extracts the leader address from a follower's answer.
func LeaderRedirect(err error) (string, bool) {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.FailedPrecondition {
		return "", false
	}
	for _, d := range st.Details() {
		if la, ok := d.(*pb.LeaderAddress); ok && la.Address != "" {
			return la.Address, true
		}
	}
	return "", false
}

func (s *Server) leaderManager() (*Manager, error) {
	var m *Manager
	if s.Manager != nil {
		m = s.Manager()
	}
	if m == nil || !s.Backend.IsLeader() {
		return nil, notLeader(s.Backend.LeaderAddress())
	}
	return m, nil
}

// ExchangeSecret trades a token's establishment secret for a stream
// secret (peering.md §3 step 5).
func (s *Server) ExchangeSecret(ctx context.Context, req *pb.ExchangeSecretRequest) (*pb.ExchangeSecretResponse, error) {
	if req.Version < rpc.PeeringProtocolMin || req.Version > rpc.PeeringProtocolMax {
		return nil, status.Errorf(codes.FailedPrecondition, "peering protocol version %d not in supported range [%d, %d]", req.Version, rpc.PeeringProtocolMin, rpc.PeeringProtocolMax)
	}
	if _, err := s.leaderManager(); err != nil {
		return nil, err
	}
	if req.PeerId == "" || req.EstablishmentSecret == "" {
		return nil, status.Error(codes.InvalidArgument, "PeerID and EstablishmentSecret are required")
	}
	secret, err := NewUUID()
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	cmd, err := fsm.EncodePeeringSecrets(&fsm.SecretsRequest{PeerID: req.PeerId, Op: fsm.SecretsExchange,
		Secret: req.EstablishmentSecret, NewSecret: secret, Now: time.Now().UnixNano()})
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if _, err := s.Backend.Apply(cmd); err != nil {
		switch {
		case errors.Is(err, fsm.ErrPeeringSecretInvalid), errors.Is(err, fsm.ErrPeeringSecretUsed), errors.Is(err, fsm.ErrPeeringSecretExpired):
			return nil, status.Error(codes.PermissionDenied, err.Error())
		case errors.Is(err, fsm.ErrPeeringNotFound):
			return nil, status.Error(codes.NotFound, "the peering this token was generated for no longer exists: generate a new token")
		}
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	return &pb.ExchangeSecretResponse{StreamSecret: secret}, nil
}

// StreamResources is the acceptor's end of the stream (peering.md §4.2).
func (s *Server) StreamResources(stream pb.PeerStream_StreamResourcesServer) error {
	m, err := s.leaderManager()
	if err != nil {
		return err
	}
	open, err := s.recvOpen(stream)
	if err != nil {
		return err
	}
	_, rec, err := s.Backend.Store().PeeringByID(nil, open.PeerId)
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	if rec == nil {
		return status.Errorf(codes.InvalidArgument, "no peering with ID %q exists here", open.PeerId)
	}
	if !rec.IsLive() {
		if rec.State != fsm.PeeringTerminated {
			_ = stream.Send(&pb.ReplicationMessage{Payload: &pb.ReplicationMessage_Terminated_{Terminated: &pb.ReplicationMessage_Terminated{}}})
		}
		return status.Error(codes.Aborted, "the peering was deleted")
	}
	if rec.ShouldDial() {
		return status.Error(codes.FailedPrecondition, "the wrong end of peering is being dialed")
	}
	if err := s.authenticate(rec, open); err != nil {
		return err
	}
	err = m.runSession(stream.Context(), stream, rec, false)
	switch {
	case errors.Is(err, errLeadershipLost):
		return notLeader(s.Backend.LeaderAddress())
	case graceful(err):
		return nil
	case errors.Is(err, errHeartbeatTimout):
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Error(codes.Internal, err.Error())
}

// recvOpen waits, bounded, for the dialer's first message.
func (s *Server) recvOpen(stream pb.PeerStream_StreamResourcesServer) (*pb.ReplicationMessage_Open, error) {
	type result struct {
		msg *pb.ReplicationMessage
		err error
	}
	ch := make(chan result, 1)
	// Ends with the stream at the latest (the handler returning ends it).
	go func() {
		msg, err := stream.Recv()
		ch <- result{msg, err}
	}()
	t := time.NewTimer(s.Config.DialTimeout)
	defer t.Stop()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, r.err
		}
		open := r.msg.GetOpen()
		if open == nil || open.PeerId == "" {
			return nil, status.Error(codes.InvalidArgument, "the first message must be Open with a PeerID")
		}
		if open.Version < rpc.PeeringProtocolMin || open.Version > rpc.PeeringProtocolMax {
			return nil, status.Errorf(codes.FailedPrecondition, "peering protocol version %d not in supported range [%d, %d]", open.Version, rpc.PeeringProtocolMin, rpc.PeeringProtocolMax)
		}
		return open, nil
	case <-t.C:
		return nil, status.Error(codes.DeadlineExceeded, "no Open message received in time")
	}
}

// authenticate checks the stream secret: the active one passes; the
// pending one is promoted to active (first stream after the exchange) and
// the dialer's Remote is stored.
func (s *Server) authenticate(rec *fsm.Peering, open *pb.ReplicationMessage_Open) error {
	sec, err := s.Backend.Store().PeeringSecretsFor(rec.ID)
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	if sec != nil && sec.ActiveStream != "" && equalSecretStr(sec.ActiveStream, open.StreamSecretId) {
		return nil
	}
	cmd, err := fsm.EncodePeeringSecrets(&fsm.SecretsRequest{PeerID: rec.ID, Op: fsm.SecretsPromote, Secret: open.StreamSecretId})
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	if _, err := s.Backend.Apply(cmd); err != nil {
		if errors.Is(err, fsm.ErrPeeringStreamSecret) {
			return status.Error(codes.PermissionDenied, err.Error())
		}
		return status.Error(codes.Unavailable, err.Error())
	}
	if r := open.GetRemote(); r != nil && (r.Datacenter != rec.Remote.Datacenter || r.Partition != rec.Remote.Partition) {
		next := *rec
		next.State = fsm.PeeringUndefined // keep the stored one
		next.Remote = fsm.PeeringRemote{Partition: r.Partition, Datacenter: r.Datacenter}
		if cmd, err := fsm.EncodePeeringWrite(&next); err == nil {
			_, _ = s.Backend.Apply(cmd)
		}
	}
	return nil
}

func equalSecretStr(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := 0; i < len(a); i++ {
		v |= a[i] ^ b[i]
	}
	return v == 0
}

// NewUUID returns a random (version 4) UUID, used for IDs and secrets.
func NewUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
