package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/switchyard/switchyard/chain"
	"github.com/switchyard/switchyard/configentry"
)

// TestTrustDomain is the trust domain offline compiles use unless told
// otherwise: Consul's test cluster ID, so offline output can be compared with
// Consul's own test fixtures. A server uses its own CA's cluster ID.
const TestTrustDomain = "11111111-2222-3333-4444-555555555555.consul"

func runChain(args []string, stdout, stderr io.Writer) int {
	return subcommands("chain", map[string]command{
		"compile": {"Compile a discovery chain offline from entry files", runChainCompile},
		"read":    {"Read a service's compiled chain from the cluster", runChainRead},
	}, args, stdout, stderr)
}

// runChainCompile: switchyard chain compile -service NAME [-datacenter dc1] FILE_OR_DIR...
// It prints exactly the body GET /v1/discovery-chain/NAME returns.
func runChainCompile(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("chain compile", stderr)
	service := fs.String("service", "", "service whose chain to compile (required)")
	dc := fs.String("datacenter", "dc1", "datacenter to compile the chain for")
	trustDomain := fs.String("trust-domain", TestTrustDomain, "trust domain used in target SNIs")
	overrideProtocol := fs.String("override-protocol", "", "compile as if the chain's protocol were this")
	overrideTimeout := fs.Duration("override-connect-timeout", 0, "replace every target's connect timeout")
	overrideMGW := fs.String("override-mesh-gateway", "", "mesh gateway mode for every target: none, local or remote")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: switchyard chain compile -service NAME [-datacenter dc1] FILE_OR_DIR...\n\n"+
			"Reads config entries (a file holds one entry or a JSON array of entries; a\n"+
			"directory means its *.hcl, *.json and *.yaml files in name order), refuses an\n"+
			"invalid set as 'config validate' does, and prints the compiled chain exactly as\n"+
			"GET /v1/discovery-chain/NAME returns it.\n\nOptions:")
		fs.PrintDefaults()
	}
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		return 1
	}
	if *service == "" {
		fmt.Fprintln(stderr, "Error: -service is required")
		return 1
	}
	switch *overrideMGW {
	case "", "none", "local", "remote":
	default:
		fmt.Fprintf(stderr, "Error: -override-mesh-gateway must be none, local or remote, not %q\n", *overrideMGW)
		return 1
	}
	set := configentry.NewSet()
	if len(paths) > 0 {
		files, err := expandPaths(paths)
		if err != nil {
			fmt.Fprintln(stderr, "Error:", err)
			return 1
		}
		entries, err := loadEntries(files)
		if err == nil {
			set, err = checkSet(entries)
		}
		if err != nil {
			fmt.Fprintln(stderr, "Error:", err)
			return 1
		}
	}
	compiled, err := chain.Compile(chain.Request{
		ServiceName:            *service,
		EvaluateInDatacenter:   *dc,
		TrustDomain:            *trustDomain,
		OverrideProtocol:       *overrideProtocol,
		OverrideConnectTimeout: time.Duration(*overrideTimeout),
		OverrideMeshGateway:    configentry.MeshGatewayConfig{Mode: *overrideMGW},
	}, set)
	if err != nil {
		fmt.Fprintln(stderr, "Error: failed to compile discovery chain:", err)
		return 1
	}
	body, err := json.Marshal(chain.Response{Chain: compiled})
	if err != nil {
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s\n", body)
	return 0
}
