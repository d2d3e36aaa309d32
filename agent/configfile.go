package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl"
)

// LoadConfigFile applies an agent config file (HCL or JSON, Consul's key
// names) onto c. Unknown keys are errors that name the key and the file, so
// a typo never silently falls back to a default.
func LoadConfigFile(c *Config, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var raw map[string]any
	if err := hcl.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	if err := applyConfigMap(c, raw); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// LoadConfigDir applies every *.hcl and *.json file of dir in name order.
func LoadConfigDir(c *Config, dir string) error {
	des, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var names []string
	for _, de := range des {
		ext := strings.ToLower(filepath.Ext(de.Name()))
		if !de.IsDir() && (ext == ".hcl" || ext == ".json") {
			names = append(names, de.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if err := LoadConfigFile(c, filepath.Join(dir, n)); err != nil {
			return err
		}
	}
	return nil
}

// configSetters maps each supported top-level key to how it sets Config.
func configSetters(c *Config) map[string]func(v any) error {
	str := func(dst *string) func(any) error { return func(v any) error { return asString(v, dst) } }
	num := func(dst *int) func(any) error { return func(v any) error { return asInt(v, dst) } }
	return map[string]func(any) error{
		"node_name":          str(&c.NodeName),
		"node_id":            str(&c.NodeID),
		"datacenter":         str(&c.Datacenter),
		"primary_datacenter": str(&c.PrimaryDatacenter),
		"data_dir":           str(&c.DataDir),
		"bind_addr":          str(&c.BindAddr),
		"advertise_addr":     str(&c.AdvertiseAddr),
		"client_addr":        str(&c.ClientAddr),
		"log_level":          str(&c.LogLevel),
		"server":             func(v any) error { return asBool(v, &c.Server) },
		"log_json":           func(v any) error { return asBool(v, &c.LogJSON) },
		"enable_debug":       func(v any) error { return asBool(v, &c.EnableDebug) },
		"bootstrap_expect":   num(&c.BootstrapExpect),
		"retry_join":         func(v any) error { return asStrings(v, &c.RetryJoin) },
		"retry_join_wan":     func(v any) error { return asStrings(v, &c.RetryJoinWAN) },
		"raft_snapshot_threshold": func(v any) error {
			var n int
			err := asInt(v, &n)
			c.RaftSnapshotThreshold = uint64(n)
			return err
		},
		"raft_trailing_logs": func(v any) error {
			var n int
			err := asInt(v, &n)
			c.RaftTrailingLogs = uint64(n)
			return err
		},
		"raft_snapshot_interval": func(v any) error { return asDuration(v, &c.RaftSnapshotInterval) },
		"dead_server_grace":      func(v any) error { return asDuration(v, &c.DeadServerGrace) },
		"rpc_hold_timeout":       func(v any) error { return asDuration(v, &c.RPCHoldTimeout) },
		"ports": func(v any) error {
			return applySection(v, map[string]func(any) error{
				"http": num(&c.Ports.HTTP), "server": num(&c.Ports.Server),
				"serf_lan": num(&c.Ports.SerfLAN), "serf_wan": num(&c.Ports.SerfWAN),
				"grpc": num(&c.Ports.GRPC),
			})
		},
	}
}

func applyConfigMap(c *Config, raw map[string]any) error {
	return applySection(raw, configSetters(c))
}

func applySection(v any, setters map[string]func(any) error) error {
	m, ok := unwrapObject(v)
	if !ok {
		return fmt.Errorf("expected an object, got %T", v)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		set, ok := setters[k]
		if !ok {
			return fmt.Errorf("unknown config key %q", k)
		}
		if err := set(m[k]); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}

// unwrapObject accepts an object, or HCL's one-element list of objects.
func unwrapObject(v any) (map[string]any, bool) {
	switch t := v.(type) {
	case map[string]any:
		return t, true
	case []map[string]any:
		if len(t) == 1 {
			return t[0], true
		}
	case []any:
		if len(t) == 1 {
			return unwrapObject(t[0])
		}
	}
	return nil, false
}

func asString(v any, dst *string) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("expected a string, got %v", v)
	}
	*dst = s
	return nil
}

func asBool(v any, dst *bool) error {
	switch t := v.(type) {
	case bool:
		*dst = t
	case string:
		b, err := strconv.ParseBool(t)
		if err != nil {
			return fmt.Errorf("expected true or false, got %q", t)
		}
		*dst = b
	default:
		return fmt.Errorf("expected true or false, got %v", v)
	}
	return nil
}

func asInt(v any, dst *int) error {
	switch t := v.(type) {
	case int:
		*dst = t
	case int64:
		*dst = int(t)
	case float64:
		if t != float64(int(t)) {
			return fmt.Errorf("expected a whole number, got %v", t)
		}
		*dst = int(t)
	case string:
		n, err := strconv.Atoi(t)
		if err != nil {
			return fmt.Errorf("expected a whole number, got %q", t)
		}
		*dst = n
	default:
		return fmt.Errorf("expected a whole number, got %v", v)
	}
	return nil
}

func asDuration(v any, dst *time.Duration) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("expected a duration such as \"10s\", got %v", v)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("expected a duration such as \"10s\", got %q", s)
	}
	*dst = d
	return nil
}

func asStrings(v any, dst *[]string) error {
	list, ok := v.([]any)
	if !ok {
		var s string
		if err := asString(v, &s); err != nil {
			return fmt.Errorf("expected a list of strings")
		}
		*dst = append(*dst, s)
		return nil
	}
	for _, item := range list {
		var s string
		if err := asString(item, &s); err != nil {
			return err
		}
		*dst = append(*dst, s)
	}
	return nil
}
