package fsm

import (
	"fmt"
	"strings"

	"github.com/switchyard/switchyard/catalog"
)

// Catalog writes. They run inside a writeTxn for one command and are only
// called from Apply. Objects passed in were freshly decoded from the command
// and become the stored rows; stored rows are never modified in place.

// registerTxn applies a register request: the node (unless SkipNodeUpdate
// and it exists), then the instance, then the checks. Any failure aborts
// the whole request.
func registerTxn(tx *writeTxn, req *catalog.RegisterRequest) error {
	// The endpoint normalised the request already; doing it again here
	// makes every writer (peering, tests, older clients) store the same
	// shape. It is idempotent.
	req.Normalize()
	if err := checkPeerNames(req); err != nil {
		return err
	}
	existing, err := getNode(tx, req.PeerName, req.Node)
	if err != nil {
		return err
	}
	if existing == nil || !req.SkipNodeUpdate {
		if err := ensureNode(tx, nodeFromRequest(req)); err != nil {
			return fmt.Errorf("failed inserting node: %w", err)
		}
	}
	if req.Service != nil {
		if err := ensureService(tx, req.PeerName, req.Node, req.Service); err != nil {
			return fmt.Errorf("failed inserting service: %w", err)
		}
	}
	for _, c := range req.Checks {
		if !strings.EqualFold(c.Node, req.Node) {
			return fmt.Errorf("check node %q does not match node %q", c.Node, req.Node)
		}
		if err := ensureCheck(tx, req.PeerName, c); err != nil {
			return fmt.Errorf("failed inserting check on node %q: %w", req.Node, err)
		}
	}
	return nil
}

// checkPeerNames refuses a request whose parts claim different peers.
// Normalize filled empty ones from the request.
func checkPeerNames(req *catalog.RegisterRequest) error {
	same := func(p string) bool { return strings.EqualFold(p, req.PeerName) }
	ok := req.Service == nil || same(req.Service.PeerName)
	for _, c := range req.Checks {
		ok = ok && same(c.PeerName)
	}
	if !ok {
		return fmt.Errorf("Cannot register services and checks for multiple peer names in one registration request")
	}
	return nil
}

func nodeFromRequest(req *catalog.RegisterRequest) *catalog.Node {
	return &catalog.Node{
		ID:              req.ID,
		Node:            req.Node,
		Address:         req.Address,
		Datacenter:      req.Datacenter,
		PeerName:        req.PeerName,
		TaggedAddresses: req.TaggedAddresses,
		Meta:            req.NodeMeta,
		Locality:        req.Locality,
	}
}

// ensureNode upserts a node. A node ID already held by a node of another
// name renames that node (it is deleted with everything on it), unless the
// new name is held by a live node with a different ID.
func ensureNode(tx *writeTxn, n *catalog.Node) error {
	if n.ID != "" {
		if err := claimNodeID(tx, n); err != nil {
			return err
		}
	}
	existing, err := getNode(tx, n.PeerName, n.Node)
	if err != nil {
		return err
	}
	if existing != nil {
		n.CreateIndex, n.ModifyIndex = existing.CreateIndex, existing.ModifyIndex
		if n.IsSame(existing) {
			return nil
		}
	} else {
		n.CreateIndex = tx.idx
	}
	n.ModifyIndex = tx.idx
	if err := tx.Insert(tableNodes, n); err != nil {
		return err
	}
	tx.touch(tableKey(tableNodes, n.PeerName))
	tx.touchNode(n.PeerName, n.Node)
	// Service views repeat the node's fields.
	return touchServicesOnNode(tx, n.PeerName, n.Node)
}

// claimNodeID enforces Consul's node ID rules before n is written.
func claimNodeID(tx *writeTxn, n *catalog.Node) error {
	raw, err := tx.First(tableNodes, indexUUID, n.PeerName, n.ID)
	if err != nil {
		return err
	}
	if raw == nil {
		// A new ID may take over a name whose node has no ID.
		if err := nameReserved(tx, n, true); err != nil {
			return fmt.Errorf("Error while renaming Node ID: %q: %w", n.ID, err)
		}
		return nil
	}
	owner := raw.(*catalog.Node)
	if strings.EqualFold(owner.Node, n.Node) {
		return nil
	}
	if err := nameReserved(tx, n, false); err != nil {
		return fmt.Errorf("Error while renaming Node ID: %q (%s): %w", n.ID, n.Address, err)
	}
	if err := deleteNodeTxn(tx, owner.PeerName, owner.Node); err != nil {
		return fmt.Errorf("Error while renaming Node ID: %q (%s) from %s to %s: %w", n.ID, n.Address, owner.Node, n.Node, err)
	}
	return nil
}

// nameReserved fails when n's name belongs to another live node with a
// different ID. "Live" means its serfHealth check exists and is not
// critical: a node outside gossip (registered through the catalog only) or
// a failed one may be taken over.
func nameReserved(tx *writeTxn, n *catalog.Node, allowClashWithoutID bool) error {
	other, err := getNode(tx, n.PeerName, n.Node)
	if err != nil || other == nil || other.ID == n.ID {
		return err
	}
	if other.ID == "" && allowClashWithoutID {
		return nil
	}
	raw, err := tx.First(tableChecks, indexID, other.PeerName, other.Node, catalog.SerfCheckID)
	if err != nil {
		return err
	}
	if raw != nil && raw.(*catalog.HealthCheck).Status != catalog.HealthCritical {
		return fmt.Errorf("Node name %s is reserved by node %s with name %s (%s)", n.Node, other.ID, other.Node, other.Address)
	}
	return nil
}

// ensureService upserts an instance on an existing node.
func ensureService(tx *writeTxn, peer, nodeName string, svc *catalog.NodeService) error {
	node, err := getNode(tx, peer, nodeName)
	if err != nil {
		return err
	}
	if node == nil {
		return ErrMissingNode
	}
	entry := svc.ToServiceNode(node.Node)
	entry.PeerName = peer
	raw, err := tx.First(tableServices, indexID, peer, node.Node, svc.ID)
	if err != nil {
		return err
	}
	var existing *catalog.ServiceNode
	if raw != nil {
		existing = raw.(*catalog.ServiceNode)
		entry.CreateIndex, entry.ModifyIndex = existing.CreateIndex, existing.ModifyIndex
		if entry.IsSameService(existing) {
			return nil
		}
		// A re-registration may rename the instance's service.
		tx.touchService(peer, existing.ServiceName)
	} else {
		entry.CreateIndex = tx.idx
	}
	entry.ModifyIndex = tx.idx
	if err := tx.Insert(tableServices, entry); err != nil {
		return err
	}
	tx.touch(tableKey(tableServices, peer))
	tx.touchNode(peer, node.Node)
	tx.touchService(peer, entry.ServiceName)
	if existing != nil {
		return refreshServiceChecks(tx, entry)
	}
	return nil
}

// refreshServiceChecks copies an instance's name and tags into its checks,
// which carry them for the health endpoints.
func refreshServiceChecks(tx *writeTxn, svc *catalog.ServiceNode) error {
	checks, err := collectChecks(tx, indexNodeService, svc.PeerName, svc.Node, svc.ServiceID)
	if err != nil {
		return err
	}
	for _, old := range checks {
		c := *old
		c.ServiceName, c.ServiceTags = svc.ServiceName, svc.ServiceTags
		if c.IsSame(old) {
			continue
		}
		c.ModifyIndex = tx.idx
		if err := tx.Insert(tableChecks, &c); err != nil {
			return err
		}
		tx.touch(tableKey(tableChecks, c.PeerName))
	}
	return nil
}

// ensureCheck upserts a check on an existing node and, when it names one,
// an existing instance of that node.
func ensureCheck(tx *writeTxn, peer string, c *catalog.HealthCheck) error {
	node, err := getNode(tx, peer, c.Node)
	if err != nil {
		return err
	}
	if node == nil {
		return ErrMissingNode
	}
	c.Node, c.PeerName = node.Node, peer
	if c.Status == "" {
		c.Status = catalog.HealthCritical
	}
	if err := attachCheckToService(tx, c); err != nil {
		return err
	}
	raw, err := tx.First(tableChecks, indexID, peer, c.Node, c.CheckID)
	if err != nil {
		return err
	}
	if raw != nil {
		existing := raw.(*catalog.HealthCheck)
		c.CreateIndex, c.ModifyIndex = existing.CreateIndex, existing.ModifyIndex
		if c.IsSame(existing) {
			return nil
		}
		// The check may move between the node and an instance.
		if err := touchCheckScope(tx, existing); err != nil {
			return err
		}
	} else {
		c.CreateIndex = tx.idx
	}
	c.ModifyIndex = tx.idx
	if err := tx.Insert(tableChecks, c); err != nil {
		return err
	}
	tx.touch(tableKey(tableChecks, peer))
	return touchCheckScope(tx, c)
}

// attachCheckToService fills a service check's service name and tags from
// the stored instance, and clears them on a node check.
func attachCheckToService(tx *writeTxn, c *catalog.HealthCheck) error {
	if c.ServiceID == "" {
		c.ServiceName, c.ServiceTags = "", []string{}
		return nil
	}
	raw, err := tx.First(tableServices, indexID, c.PeerName, c.Node, c.ServiceID)
	if err != nil {
		return err
	}
	if raw == nil {
		return fmt.Errorf("Unknown service ID '%s' for check ID '%s': %w", c.ServiceID, c.CheckID, ErrMissingService)
	}
	svc := raw.(*catalog.ServiceNode)
	c.ServiceID, c.ServiceName, c.ServiceTags = svc.ServiceID, svc.ServiceName, svc.ServiceTags
	return nil
}

// touchCheckScope marks what a check's change affects: its node, and its
// instance's service or, for a node check, every service on the node.
func touchCheckScope(tx *writeTxn, c *catalog.HealthCheck) error {
	tx.touchNode(c.PeerName, c.Node)
	if c.ServiceID != "" {
		tx.touchService(c.PeerName, c.ServiceName)
		return nil
	}
	return touchServicesOnNode(tx, c.PeerName, c.Node)
}

func touchServicesOnNode(tx *writeTxn, peer, node string) error {
	it, err := tx.Get(tableServices, indexNode, peer, node)
	if err != nil {
		return err
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		tx.touchService(peer, raw.(*catalog.ServiceNode).ServiceName)
	}
	return nil
}

// deregisterTxn removes an instance, a check or a whole node. Removing
// something that does not exist succeeds and changes nothing.
func deregisterTxn(tx *writeTxn, req *catalog.DeregisterRequest) error {
	switch {
	case req.ServiceID != "":
		return deleteServiceTxn(tx, req.PeerName, req.Node, req.ServiceID)
	case req.CheckID != "":
		return deleteCheckTxn(tx, req.PeerName, req.Node, req.CheckID)
	default:
		return deleteNodeTxn(tx, req.PeerName, req.Node)
	}
}

func deleteServiceTxn(tx *writeTxn, peer, node, serviceID string) error {
	raw, err := tx.First(tableServices, indexID, peer, node, serviceID)
	if err != nil || raw == nil {
		return err
	}
	svc := raw.(*catalog.ServiceNode)
	checks, err := collectChecks(tx, indexNodeService, peer, node, serviceID)
	if err != nil {
		return err
	}
	if err := deleteChecks(tx, peer, checks); err != nil {
		return err
	}
	if err := tx.Delete(tableServices, svc); err != nil {
		return err
	}
	tx.touch(tableKey(tableServices, peer))
	tx.touchNode(peer, svc.Node)
	tx.touchService(peer, svc.ServiceName)
	return nil
}

// deleteChecks removes checks collected beforehand (collecting first keeps
// the write transaction's iterators valid).
func deleteChecks(tx *writeTxn, peer string, checks []*catalog.HealthCheck) error {
	for _, c := range checks {
		if err := tx.Delete(tableChecks, c); err != nil {
			return err
		}
		tx.touch(tableKey(tableChecks, peer))
	}
	return nil
}

func deleteCheckTxn(tx *writeTxn, peer, node, checkID string) error {
	raw, err := tx.First(tableChecks, indexID, peer, node, checkID)
	if err != nil || raw == nil {
		return err
	}
	c := raw.(*catalog.HealthCheck)
	if err := tx.Delete(tableChecks, c); err != nil {
		return err
	}
	tx.touch(tableKey(tableChecks, peer))
	return touchCheckScope(tx, c)
}

// deleteNodeTxn removes a node with its instances and checks.
func deleteNodeTxn(tx *writeTxn, peer, name string) error {
	node, err := getNode(tx, peer, name)
	if err != nil || node == nil {
		return err
	}
	// Collect before deleting: deleting while iterating the same write
	// transaction would invalidate the iterator.
	var services []*catalog.ServiceNode
	it, err := tx.Get(tableServices, indexNode, peer, node.Node)
	if err != nil {
		return err
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		services = append(services, raw.(*catalog.ServiceNode))
	}
	for _, svc := range services {
		if err := deleteServiceTxn(tx, peer, svc.Node, svc.ServiceID); err != nil {
			return err
		}
	}
	checks, err := collectChecks(tx, indexNode, peer, node.Node)
	if err != nil {
		return err
	}
	if err := deleteChecks(tx, peer, checks); err != nil {
		return err
	}
	if err := tx.Delete(tableNodes, node); err != nil {
		return err
	}
	tx.touch(tableKey(tableNodes, peer))
	tx.touchNode(peer, node.Node)
	return nil
}
