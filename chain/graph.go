package chain

import (
	"math"
	"sort"
	"strings"

	"github.com/switchyard/switchyard/configentry"
)

// popMarker is pushed on the walk stack after a node so that popping it
// takes the node off the current path. Node keys always contain ':', so
// the marker cannot collide with one.
const popMarker = "\x00pop"

// detectCircularReferences is rule 18: a depth-first walk along route and
// split edges that fails on reaching a node already on the current path.
// Children are pushed in order and popped last-first, which fixes the path
// that the message reports. Unlike Consul, a node whose subgraph was fully
// walked is not walked again: any cycle through it would have been found
// the first time, so the result is the same and shared subgraphs no longer
// cost time exponential in their depth.
func (c *compiler) detectCircularReferences() error {
	todo := []string{c.startNode}
	var path []string
	onPath, done := map[string]bool{}, map[string]bool{}
	for len(todo) > 0 {
		cur := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if cur == popMarker {
			last := path[len(path)-1]
			path = path[:len(path)-1]
			delete(onPath, last)
			done[last] = true
			continue
		}
		if done[cur] {
			continue
		}
		path = append(path, cur)
		if onPath[cur] {
			return c.errorf("detected circular reference: [%s]", strings.Join(path, " -> "))
		}
		onPath[cur] = true
		todo = append(todo, popMarker)
		todo = append(todo, nextNodes(c.nodes[cur])...)
	}
	return nil
}

// nextNodes lists the keys a router's routes or a splitter's splits lead
// to. Redirects and failover are not edges of the graph.
func nextNodes(node *DiscoveryGraphNode) []string {
	var out []string
	for _, r := range node.Routes {
		out = append(out, r.NextNode)
	}
	for _, s := range node.Splits {
		out = append(out, s.NextNode)
	}
	return out
}

// flattenSplitters is rule 20: every split that leads to another splitter
// is replaced by that splitter's splits, until no split leads to a splitter.
// Consul visits nodes in map order, which only matters for rounding when
// three or more splitters nest; sorting the keys makes it deterministic.
func (c *compiler) flattenSplitters() {
	var keys []string
	for k, n := range c.nodes {
		if n.Type == NodeSplitter {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for changed := true; changed; {
		changed = false
		for _, k := range keys {
			if c.flattenNode(c.nodes[k]) {
				changed = true
			}
		}
	}
}

// flattenNode inlines one level of nested splitters into node.
func (c *compiler) flattenNode(node *DiscoveryGraphNode) bool {
	changed := false
	fixed := make([]*DiscoverySplit, 0, len(node.Splits))
	for _, split := range node.Splits {
		inner := c.nodes[split.NextNode]
		if inner.Type != NodeSplitter {
			fixed = append(fixed, split)
			continue
		}
		changed = true
		for _, in := range inner.Splits {
			fixed = append(fixed, &DiscoverySplit{
				Definition: mergeParentSplit(in.Definition, split.Definition),
				Weight:     roundWeight(split.Weight * in.Weight / 100),
				NextNode:   in.NextNode,
			})
		}
	}
	if changed {
		node.Splits = fixed
	}
	return changed
}

// roundWeight rounds to 0.01 the way Consul does, in float32 arithmetic,
// so that weights agree to the last bit.
func roundWeight(w float32) float32 {
	return float32(int(math.Round(float64(w*100)))) / 100
}

// mergeParentSplit copies the inner split's definition and folds in the
// outer split's header modifiers. Requests pass the outer split first, so
// the inner split's request settings win; responses pass the inner split
// first, so the outer split's response settings win.
func mergeParentSplit(inner, outer *configentry.ServiceSplit) *configentry.ServiceSplit {
	out := *inner
	out.RequestHeaders = mergeHeaders(outer.RequestHeaders, inner.RequestHeaders)
	out.ResponseHeaders = mergeHeaders(inner.ResponseHeaders, outer.ResponseHeaders)
	return &out
}

// mergeHeaders returns a copy of base with overrides applied: Add and Set
// keys of overrides win; Remove gains the overrides' names that base does
// not already remove.
func mergeHeaders(base, overrides *configentry.HTTPHeaderModifiers) *configentry.HTTPHeaderModifiers {
	if base.IsZero() {
		return cloneHeaders(overrides)
	}
	merged := cloneHeaders(base)
	if overrides.IsZero() {
		return merged
	}
	merged.Add = mergeStringMap(merged.Add, overrides.Add)
	merged.Set = mergeStringMap(merged.Set, overrides.Set)
	removed := map[string]bool{}
	for _, k := range merged.Remove {
		removed[k] = true
	}
	for _, k := range overrides.Remove {
		if !removed[k] {
			merged.Remove = append(merged.Remove, k)
		}
	}
	return merged
}

// mergeStringMap sets every pair of over in dst, allocating dst if needed.
func mergeStringMap(dst, over map[string]string) map[string]string {
	if len(over) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[string]string, len(over))
	}
	for k, v := range over {
		dst[k] = v
	}
	return dst
}

// removeUnreachableNodes is rule 21 for nodes: only what the start node
// reaches along routes and splits survives (flattening orphans the inner
// splitters).
func (c *compiler) removeUnreachableNodes() {
	visited := map[string]bool{}
	todo := []string{c.startNode}
	for len(todo) > 0 {
		cur := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if visited[cur] {
			continue
		}
		visited[cur] = true
		todo = append(todo, nextNodes(c.nodes[cur])...)
	}
	for k := range c.nodes {
		if !visited[k] {
			delete(c.nodes, k)
		}
	}
}
