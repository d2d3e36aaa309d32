package fsm

import (
	"fmt"
	"strings"

	"github.com/hashicorp/go-memdb"

	"github.com/switchyard/switchyard/catalog"
	"github.com/switchyard/switchyard/configentry"
)

// Table names.
const (
	tableNodes         = "nodes"
	tableServices      = "services"
	tableChecks        = "checks"
	tableConfigEntries = "config-entries"
	tableIndex         = "index"
)

// Index names. memdb requires every table to have a unique "id" index; a
// "_prefix" suffix on any index name asks for a prefix match.
const (
	indexID          = "id"
	indexUUID        = "uuid"
	indexNode        = "node"
	indexService     = "service"
	indexNodeService = "node_service"
	indexStatus      = "status"
)

// schema returns the state store's tables. Each table is defined by one
// function below; keys of catalog tables start with the peer name so imported
// data sits beside local data and a peer's rows are one prefix scan away.
func schema() *memdb.DBSchema {
	tables := []*memdb.TableSchema{
		nodesTable(), servicesTable(), checksTable(), configEntriesTable(), indexTable(), metaTable(),
		peeringsTable(), peeringSecretsTable(),
		peeringsTable(), peeringSecretsTable(),
	}
	s := &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{}}
	for _, t := range tables {
		s.Tables[t.Name] = t
	}
	return s
}

// nodesTable: one row per node, unique by peer and (case-insensitive) name;
// the uuid index finds the node holding a node ID, to detect renames.
func nodesTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableNodes,
		Indexes: map[string]*memdb.IndexSchema{
			indexID: {Name: indexID, Unique: true, Indexer: keyIndexer(2, func(o any) []string {
				n := o.(*catalog.Node)
				return []string{n.PeerName, n.Node}
			})},
			indexUUID: {Name: indexUUID, AllowMissing: true, Indexer: keyIndexer(2, func(o any) []string {
				n := o.(*catalog.Node)
				if n.ID == "" {
					return nil
				}
				return []string{n.PeerName, n.ID}
			})},
		},
	}
}

// servicesTable: one *catalog.ServiceNode row (node fields empty) per
// instance, unique by peer, node and service ID.
func servicesTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableServices,
		Indexes: map[string]*memdb.IndexSchema{
			indexID: {Name: indexID, Unique: true, Indexer: keyIndexer(3, func(o any) []string {
				s := o.(*catalog.ServiceNode)
				return []string{s.PeerName, s.Node, s.ServiceID}
			})},
			indexNode: {Name: indexNode, Indexer: keyIndexer(2, func(o any) []string {
				s := o.(*catalog.ServiceNode)
				return []string{s.PeerName, s.Node}
			})},
			indexService: {Name: indexService, Indexer: keyIndexer(2, func(o any) []string {
				s := o.(*catalog.ServiceNode)
				return []string{s.PeerName, s.ServiceName}
			})},
		},
	}
}

// checksTable: one row per check, unique by peer, node and check ID. Node
// checks have no ServiceID and so are missing from the service indexes.
func checksTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableChecks,
		Indexes: map[string]*memdb.IndexSchema{
			indexID: {Name: indexID, Unique: true, Indexer: keyIndexer(3, func(o any) []string {
				c := o.(*catalog.HealthCheck)
				return []string{c.PeerName, c.Node, c.CheckID}
			})},
			indexNode: {Name: indexNode, Indexer: keyIndexer(2, func(o any) []string {
				c := o.(*catalog.HealthCheck)
				return []string{c.PeerName, c.Node}
			})},
			indexNodeService: {Name: indexNodeService, AllowMissing: true, Indexer: keyIndexer(3, func(o any) []string {
				c := o.(*catalog.HealthCheck)
				if c.ServiceID == "" {
					return nil
				}
				return []string{c.PeerName, c.Node, c.ServiceID}
			})},
			indexService: {Name: indexService, AllowMissing: true, Indexer: keyIndexer(2, func(o any) []string {
				c := o.(*catalog.HealthCheck)
				if c.ServiceName == "" {
					return nil
				}
				return []string{c.PeerName, c.ServiceName}
			})},
			indexStatus: {Name: indexStatus, Indexer: keyIndexer(2, func(o any) []string {
				c := o.(*catalog.HealthCheck)
				return []string{c.PeerName, c.Status}
			})},
		},
	}
}

// configEntriesTable: configentry.Entry values unique by kind and name. The
// id index with only the kind is the per-kind listing. Names are compared
// exactly (not case-folded) so the store agrees with configentry.Set, which
// graph validation reads.
func configEntriesTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableConfigEntries,
		Indexes: map[string]*memdb.IndexSchema{
			indexID: {Name: indexID, Unique: true, Indexer: &stringKeyIndexer{arity: 2, exact: true, fields: func(o any) []string {
				e := o.(configentry.Entry)
				return []string{e.GetKind(), e.GetName()}
			}}},
		},
	}
}

// indexEntry is a row of the index table: the Raft index of the last write
// that touched Key. Keys name whole tables ("nodes") or finer scopes
// ("service.web", "config-entries.service-resolver"); see keys.go.
type indexEntry struct {
	Key   string
	Value uint64
}

func indexTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableIndex,
		Indexes: map[string]*memdb.IndexSchema{
			indexID: {Name: indexID, Unique: true, Indexer: &stringKeyIndexer{arity: 1, exact: true, fields: func(o any) []string {
				return []string{o.(*indexEntry).Key}
			}}},
		},
	}
}

// keyIndexer builds the case-insensitive indexer used by catalog tables:
// Consul compares node names, service IDs and names, check IDs and peer
// names without regard to case.
func keyIndexer(arity int, fields func(any) []string) *stringKeyIndexer {
	return &stringKeyIndexer{arity: arity, fields: fields}
}

// stringKeyIndexer indexes an object by a fixed list of string fields. Each
// field is written followed by a NUL, so ("a","bc") and ("ab","c") differ
// and a prefix of whole fields selects a subtree. It avoids the reflection
// of memdb's field indexers, which shows in the apply benchmark.
type stringKeyIndexer struct {
	arity int
	// exact keeps case; otherwise fields are lower-cased.
	exact bool
	// fields returns the values, or nil when the object has none for this
	// index (only allowed on AllowMissing indexes).
	fields func(any) []string
}

var (
	_ memdb.SingleIndexer = (*stringKeyIndexer)(nil)
	_ memdb.PrefixIndexer = (*stringKeyIndexer)(nil)
)

// FromObject implements memdb.SingleIndexer.
func (x *stringKeyIndexer) FromObject(obj any) (bool, []byte, error) {
	vals := x.fields(obj)
	if vals == nil {
		return false, nil, nil
	}
	return true, x.encode(vals), nil
}

// FromArgs implements memdb.Indexer: exactly arity string arguments.
func (x *stringKeyIndexer) FromArgs(args ...any) ([]byte, error) {
	if len(args) != x.arity {
		return nil, fmt.Errorf("index needs %d arguments, got %d", x.arity, len(args))
	}
	return x.fromArgs(args)
}

// PrefixFromArgs implements memdb.PrefixIndexer: up to arity leading fields.
func (x *stringKeyIndexer) PrefixFromArgs(args ...any) ([]byte, error) {
	if len(args) > x.arity {
		return nil, fmt.Errorf("index takes at most %d arguments, got %d", x.arity, len(args))
	}
	return x.fromArgs(args)
}

func (x *stringKeyIndexer) fromArgs(args []any) ([]byte, error) {
	vals := make([]string, len(args))
	for i, a := range args {
		s, ok := a.(string)
		if !ok {
			return nil, fmt.Errorf("index argument %d must be a string, got %T", i, a)
		}
		vals[i] = s
	}
	return x.encode(vals), nil
}

func (x *stringKeyIndexer) encode(vals []string) []byte {
	n := 0
	for _, v := range vals {
		n += len(v) + 1
	}
	b := make([]byte, 0, n)
	for _, v := range vals {
		if !x.exact {
			v = strings.ToLower(v)
		}
		b = append(b, v...)
		b = append(b, 0)
	}
	return b
}
