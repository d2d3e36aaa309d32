package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/switchyard/switchyard/chain"
	"github.com/switchyard/switchyard/configentry"
)

// sourcedEntry remembers which file an entry came from, for error messages.
type sourcedEntry struct {
	file  string
	entry configentry.Entry
}

func (s sourcedEntry) String() string {
	return fmt.Sprintf("%s: %s %q", s.file, s.entry.GetKind(), s.entry.GetName())
}

// entryFileExts are the file kinds read from a directory, as the forms
// configentry decodes.
var entryFileExts = map[string]bool{".hcl": true, ".json": true, ".yaml": true, ".yml": true}

// expandPaths turns files and directories into a list of files: a directory
// contributes its *.hcl, *.json, *.yaml and *.yml files in name order.
func expandPaths(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		des, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, de := range des {
			if !de.IsDir() && entryFileExts[strings.ToLower(filepath.Ext(de.Name()))] {
				names = append(names, de.Name())
			}
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("%s: no *.hcl, *.json or *.yaml files in directory", p)
		}
		sort.Strings(names)
		for _, n := range names {
			files = append(files, filepath.Join(p, n))
		}
	}
	return files, nil
}

// loadEntries decodes, normalizes and validates every entry in files, one by
// one. The error names the file and the entry.
func loadEntries(files []string) ([]sourcedEntry, error) {
	var out []sourcedEntry
	for _, f := range files {
		entries, err := configentry.DecodeFile(f)
		if err != nil {
			return nil, err
		}
		if len(entries) == 0 {
			return nil, fmt.Errorf("%s: no config entry in file", f)
		}
		for _, e := range entries {
			se := sourcedEntry{file: f, entry: e}
			if err := e.Normalize(); err != nil {
				return nil, fmt.Errorf("%s: %w", se, err)
			}
			if err := e.Validate(); err != nil {
				return nil, fmt.Errorf("%s: %w", se, indentJoined(err))
			}
			out = append(out, se)
		}
	}
	return out, nil
}

// checkSet validates the entries as one set: a later entry with the same
// kind and name replaces an earlier one (as a later write would), and every
// discovery chain that any remaining entry touches must compile. The error
// names the entry whose chains fail.
func checkSet(entries []sourcedEntry) (*configentry.Set, error) {
	set := configentry.NewSet()
	final := map[string]sourcedEntry{}
	var order []string
	for _, se := range entries {
		key := se.entry.GetKind() + "/" + se.entry.GetName()
		if _, seen := final[key]; !seen {
			order = append(order, key)
		}
		final[key] = se
		set.Put(se.entry)
	}
	for _, key := range order {
		se := final[key]
		if err := chain.ValidateWrite(set, se.entry, "", ""); err != nil {
			return nil, fmt.Errorf("%s: %w", se, err)
		}
	}
	return set, nil
}

// indentJoined renders a joined multi-error with one violation per line
// under the entry it belongs to.
func indentJoined(err error) error {
	var multi interface{ Unwrap() []error }
	if !errors.As(err, &multi) || len(multi.Unwrap()) < 2 {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems:", len(multi.Unwrap()))
	for _, e := range multi.Unwrap() {
		b.WriteString("\n  - ")
		b.WriteString(e.Error())
	}
	return errors.New(b.String())
}
