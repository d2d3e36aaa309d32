package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/switchyard/switchyard/chain"
)

// runChainRead: switchyard chain read [-format=json] [-compile-dc DC] SERVICE
// Human-readable by default; -format=json prints the server's body as is.
func runChainRead(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("chain read", stderr)
	addr := clientFlags(fs)
	format := fs.String("format", "text", "output format: text or json")
	compileDC := fs.String("compile-dc", "", "datacenter to compile the chain for (default: the agent's)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 1
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "Usage: switchyard chain read [-format=json] [-compile-dc DC] SERVICE")
		return 1
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "Error: -format must be text or json, not %q\n", *format)
		return 1
	}
	q := url.Values{}
	if *compileDC != "" {
		q.Set("compile-dc", *compileDC)
	}
	body, err := newAPIClient(*addr).do(http.MethodGet, "/v1/discovery-chain/"+url.PathEscape(pos[0]), q, nil)
	if err != nil {
		fmt.Fprintln(stderr, "Error reading chain:", err)
		return 1
	}
	if *format == "json" {
		fmt.Fprintf(stdout, "%s\n", body)
		return 0
	}
	var resp struct{ Chain *chain.CompiledDiscoveryChain }
	if err := json.Unmarshal(body, &resp); err != nil || resp.Chain == nil {
		fmt.Fprintln(stderr, "Error: the server's answer is not a discovery chain:", err)
		return 1
	}
	fmt.Fprint(stdout, renderChain(resp.Chain))
	return 0
}

// renderChain draws a chain as an indented tree from its start node.
func renderChain(c *chain.CompiledDiscoveryChain) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Chain %q in datacenter %s, protocol %s", c.ServiceName, c.Datacenter, c.Protocol)
	if c.Default {
		b.WriteString(" (default: no config entries change it)")
	}
	b.WriteString("\n")
	renderNode(&b, c, c.StartNode, "  ")
	return b.String()
}

func renderNode(b *strings.Builder, c *chain.CompiledDiscoveryChain, key, indent string) {
	n := c.Nodes[key]
	if n == nil {
		fmt.Fprintf(b, "%s%s (missing)\n", indent, key)
		return
	}
	switch n.Type {
	case chain.NodeRouter:
		fmt.Fprintf(b, "%srouter %s\n", indent, n.Name)
		for _, r := range n.Routes {
			fmt.Fprintf(b, "%s  route %s ->\n", indent, describeMatch(r))
			renderNode(b, c, r.NextNode, indent+"    ")
		}
	case chain.NodeSplitter:
		fmt.Fprintf(b, "%ssplitter %s\n", indent, n.Name)
		for _, s := range n.Splits {
			fmt.Fprintf(b, "%s  %g%% ->\n", indent, s.Weight)
			renderNode(b, c, s.NextNode, indent+"    ")
		}
	case chain.NodeResolver:
		renderResolver(b, c, n, indent)
	}
}

func renderResolver(b *strings.Builder, c *chain.CompiledDiscoveryChain, n *chain.DiscoveryGraphNode, indent string) {
	r := n.Resolver
	fmt.Fprintf(b, "%sresolver %s (connect timeout %s)\n", indent, n.Name, r.ConnectTimeout)
	fmt.Fprintf(b, "%s  target %s\n", indent, describeTarget(c.Targets[r.Target]))
	if r.Failover != nil {
		for i, t := range r.Failover.Targets {
			fmt.Fprintf(b, "%s  failover %d: %s\n", indent, i+1, describeTarget(c.Targets[t]))
		}
	}
}

func describeTarget(t *chain.DiscoveryTarget) string {
	if t == nil {
		return "(missing)"
	}
	var where string
	switch {
	case t.Peer != "":
		where = "peer " + t.Peer
	default:
		where = "datacenter " + t.Datacenter
	}
	s := fmt.Sprintf("service %s", t.Service)
	if t.ServiceSubset != "" {
		s += fmt.Sprintf(" subset %s", t.ServiceSubset)
	}
	if t.Subset.Filter != "" {
		s += fmt.Sprintf(" [%s]", t.Subset.Filter)
	}
	return s + " in " + where
}

func describeMatch(r *chain.DiscoveryRoute) string {
	if r.Definition == nil || r.Definition.Match == nil || r.Definition.Match.HTTP == nil {
		return "(any request)"
	}
	h := r.Definition.Match.HTTP
	var parts []string
	switch {
	case h.PathExact != "":
		parts = append(parts, "path = "+h.PathExact)
	case h.PathPrefix != "":
		parts = append(parts, "path prefix "+h.PathPrefix)
	case h.PathRegex != "":
		parts = append(parts, "path ~ "+h.PathRegex)
	}
	for _, hd := range h.Header {
		parts = append(parts, "header "+hd.Name)
	}
	for _, qp := range h.QueryParam {
		parts = append(parts, "query "+qp.Name)
	}
	if len(h.Methods) > 0 {
		m := append([]string(nil), h.Methods...)
		sort.Strings(m)
		parts = append(parts, "methods "+strings.Join(m, ","))
	}
	if len(parts) == 0 {
		return "(any request)"
	}
	return strings.Join(parts, ", ")
}
