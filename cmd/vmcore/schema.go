package main

import (
	"embed"
	"fmt"
	"io"
	"sort"
	"strings"
)

// schemaFS holds the JSON Schema (draft 2020-12) of every record kind;
// docs/json.md describes them.
//
//go:embed schema/*.json
var schemaFS embed.FS

func init() {
	register(subcommand{
		name:    "schema",
		summary: "print the JSON Schema of a -json record: vmcore schema KIND (info, log, task, backtrace, meminfo, match, ...)",
		run:     runSchema,
		help:    schemaHelp,
	})
}

func schemaKinds() []string {
	ents, _ := schemaFS.ReadDir("schema")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".json"))
	}
	sort.Strings(out)
	return out
}

func schemaHelp(w io.Writer) {
	fmt.Fprintf(w, "usage: vmcore schema KIND\n\nPrints the JSON Schema of a -json record kind: %s.\nEvery record names its kind and version in \"schema\": \"vmcore.KIND/VERSION\".\n", strings.Join(schemaKinds(), ", "))
}

func runSchema(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		schemaHelp(stderr)
		return 2
	}
	kind := strings.TrimPrefix(args[0], "vmcore.")
	kind, _, _ = strings.Cut(kind, "/")
	b, err := schemaFS.ReadFile("schema/" + kind + ".json")
	if err != nil {
		fmt.Fprintf(stderr, "vmcore schema: no record kind %q (kinds: %s)\n", args[0], strings.Join(schemaKinds(), ", "))
		return 2
	}
	stdout.Write(b)
	return 0
}
