package peering

import (
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/hashicorp/go-memdb"

	"github.com/switchyard/switchyard/catalog"
	"github.com/switchyard/switchyard/fsm"
)

// The I/O half of importing: read the local copy, plan (import.go), write
// through Raft. Registrations go in one batch entry so an instance and its
// check appear together; deregistrations follow one entry each.

func importService(b Backend, peer, service string, incoming []catalog.CheckServiceNode) error {
	for _, csn := range incoming {
		if csn.Node == nil || csn.Service == nil {
			return fmt.Errorf("ExportedService %q: an instance without Node or Service", service)
		}
		if !strings.EqualFold(csn.Service.Service, service) {
			return fmt.Errorf("ExportedService %q carries an instance of %q", service, csn.Service.Service)
		}
	}
	store := b.Store()
	_, current, err := store.CheckServiceNodes(nil, service, peer)
	if err != nil {
		return err
	}
	counts := map[string]int{}
	for _, csn := range current {
		name := strings.ToLower(csn.Node.Node)
		if _, ok := counts[name]; ok {
			continue
		}
		_, ns, err := store.Node(nil, csn.Node.Node, peer)
		if err != nil {
			return err
		}
		if ns != nil {
			counts[name] = len(ns.Services)
		}
	}
	return applyPlan(b, PlanServiceImport(peer, incoming, current, counts))
}

func importServiceList(b Backend, peer string, list []string) error {
	_, imported, err := b.Store().Services(nil, peer)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(imported))
	for n := range imported {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range WithdrawnServices(names, list) {
		if err := importService(b, peer, name, nil); err != nil {
			return err
		}
	}
	return nil
}

func applyPlan(b Backend, plan ImportPlan) error {
	if len(plan.Register) > 0 {
		cmd, err := fsm.EncodeBatchRegister(plan.Register)
		if err != nil {
			return err
		}
		if _, err := b.Apply(cmd); err != nil {
			return fmt.Errorf("storing imported instances: %w", err)
		}
	}
	for _, d := range plan.Deregister {
		cmd, err := fsm.EncodeDeregister(d)
		if err != nil {
			return err
		}
		if _, err := b.Apply(cmd); err != nil {
			return fmt.Errorf("removing imported instance: %w", err)
		}
	}
	return nil
}

// updateServerAddresses stores the acceptor's advertised addresses on the
// dialer's record, so redials reach servers added since the token.
func updateServerAddresses(b Backend, id string, addrs []string) error {
	if len(addrs) == 0 {
		return nil
	}
	_, rec, err := b.Store().PeeringByID(nil, id)
	if err != nil || rec == nil || !rec.IsLive() {
		return err
	}
	if equalStrings(rec.PeerServerAddresses, addrs) {
		return nil
	}
	next := *rec
	// UNDEFINED keeps the stored state, so a write racing the peer's
	// Terminated cannot bring the record back to life.
	next.State = fsm.PeeringUndefined
	next.PeerServerAddresses = append([]string(nil), addrs...)
	cmd, err := fsm.EncodePeeringWrite(&next)
	if err != nil {
		return err
	}
	_, err = b.Apply(cmd)
	return err
}

// storeTrustBundle files the peer's trust bundle on the local record
// (peering.md §5). An unchanged bundle costs no write. The FSM drops it
// when the record leaves the live states, so a bundle arriving after a
// delete or terminate is refused or dropped there, never kept.
func storeTrustBundle(b Backend, id string, bundle *fsm.PeeringTrustBundle) error {
	_, rec, err := b.Store().PeeringByID(nil, id)
	if err != nil {
		return err
	}
	if rec == nil || !rec.IsLive() {
		return fmt.Errorf("peering %q is no longer live: not storing its trust bundle", id)
	}
	if rec.TrustBundle.Equal(bundle) {
		return nil
	}
	next := *rec
	next.State = fsm.PeeringUndefined
	next.TrustBundle = bundle
	cmd, err := fsm.EncodePeeringWrite(&next)
	if err != nil {
		return err
	}
	if _, err := b.Apply(cmd); err != nil {
		return fmt.Errorf("storing the peer's trust bundle: %w", err)
	}
	return nil
}

// LocalServerAddresses are the peering addresses of this cluster's servers:
// each server node's address with the grpc_port of its consul service (the
// leader registers both from gossip). Sorted, for stable comparisons.
func LocalServerAddresses(store *fsm.Store, ws memdb.WatchSet) ([]string, error) {
	_, nodes, err := store.CheckServiceNodes(ws, consulService, "")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, csn := range nodes {
		port := csn.Service.Meta["grpc_port"]
		if port == "" || port == "0" {
			continue
		}
		addr := csn.Node.Address
		if wan := csn.Node.TaggedAddresses["wan"]; wan != "" {
			addr = wan
		}
		out = append(out, net.JoinHostPort(addr, port))
	}
	sort.Strings(out)
	return out, nil
}
