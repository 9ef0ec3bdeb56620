package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vmcoretools/vmcore/vmcore"
)

func init() {
	register(subcommand{
		name:    "info",
		summary: "describe dumps: format, compression, dump level, kernel, CPUs, page counts",
		run:     runInfo,
		help: func(w io.Writer) {
			fs, _ := infoFlags()
			flagHelp(w, infoUsage, fs)
		},
	})
}

// infoReport is one dump's `vmcore info -json` object.
type infoReport struct {
	Files         []string `json:"files"`
	Format        string   `json:"format"`
	Compression   []string `json:"compression"`
	DumpLevel     *int     `json:"dump_level"` // null: the format does not record it (ELF)
	Release       string   `json:"release"`
	BuildID       string   `json:"build_id"`
	Arch          string   `json:"arch"`
	CPUs          int      `json:"cpus"`
	PageSize      int      `json:"page_size"`
	CrashTime     string   `json:"crash_time,omitempty"`
	MemoryBytes   uint64   `json:"memory_bytes"`
	PagesPresent  uint64   `json:"pages_present"`
	PagesExcluded uint64   `json:"pages_excluded"`
	PagesZero     uint64   `json:"pages_zero"`
	PagesLost     uint64   `json:"pages_lost"`
	Warnings      []string `json:"warnings"`
}

const infoUsage = `usage: vmcore info [-json] DUMP...

The files of one split set (makedumpfile --split) are described together as one dump.
`

func infoFlags() (*flag.FlagSet, *bool) {
	fs := flag.NewFlagSet("info", flag.ContinueOnError)
	return fs, fs.Bool("json", false, "print one JSON object ("+schemaInfo+") per dump, one per line")
}

func runInfo(args []string, stdout, stderr io.Writer) int {
	fs, asJSON := infoFlags()
	files, ok := parseFlags(fs, "info", args, stderr)
	if !ok {
		return 2
	}
	if len(files) == 0 {
		fmt.Fprint(stderr, "vmcore info: no dump file given\n\n")
		subcommands["info"].help(stderr)
		return 2
	}
	status := 0
	jl := newJSONLines(stdout)
	for i, group := range vmcore.GroupSplitSets(files) {
		rep, err := describe(group)
		if err != nil {
			if *asJSON {
				jl.fail(group, err)
			}
			fmt.Fprintf(stderr, "vmcore info: %s\n", msg(err))
			status = 1
			continue
		}
		if *asJSON {
			if err := jl.record(schemaInfo, group, rep); err != nil {
				fmt.Fprintf(stderr, "vmcore info: %s\n", msg(err))
				status = 1
			}
			continue
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		printInfo(stdout, rep)
	}
	return status
}

func describe(paths []string) (*infoReport, error) {
	d, err := vmcore.Open(paths...)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	st, err := d.PageStats()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", strings.Join(paths, ", "), err)
	}
	rep := &infoReport{
		Files:         paths,
		Format:        string(d.Format()),
		Compression:   st.Compressions,
		Release:       d.Release(),
		BuildID:       d.BuildID(),
		Arch:          d.Arch(),
		CPUs:          d.NumCPUs(),
		PageSize:      d.PageSize(),
		MemoryBytes:   st.MemoryBytes,
		PagesPresent:  st.Present,
		PagesExcluded: st.Excluded,
		PagesZero:     st.Zero,
		PagesLost:     st.Lost,
		Warnings:      d.Warnings(),
	}
	if rep.Compression == nil {
		rep.Compression = []string{}
	}
	if rep.Warnings == nil {
		rep.Warnings = []string{}
	}
	if lvl := d.DumpLevel(); lvl >= 0 {
		rep.DumpLevel = &lvl
	}
	if t, ok := d.CrashTime(); ok {
		rep.CrashTime = t.UTC().Format(time.RFC3339)
	}
	return rep, nil
}

func printInfo(w io.Writer, r *infoReport) {
	row := func(k, format string, a ...any) { fmt.Fprintf(w, "%-14s %s\n", k+":", fmt.Sprintf(format, a...)) }
	if len(r.Files) == 1 {
		row("file", "%s", r.Files[0])
	} else {
		row("files", "%s", strings.Join(r.Files, " "))
	}
	row("format", "%s", r.Format)
	row("compression", "%s", strings.Join(r.Compression, ", "))
	if r.DumpLevel != nil {
		row("dump level", "%d", *r.DumpLevel)
	} else {
		row("dump level", "unknown (not recorded in this format)")
	}
	row("release", "%s", orNone(r.Release))
	row("build-id", "%s", orNone(r.BuildID))
	row("arch", "%s", orNone(r.Arch))
	row("cpus", "%d", r.CPUs)
	row("crash time", "%s", orNone(r.CrashTime))
	row("page size", "%d", r.PageSize)
	row("memory", "%s (%d pages)", humanBytes(r.MemoryBytes), r.MemoryBytes/uint64(max(r.PageSize, 1)))
	row("pages", "present %d, excluded %d, zero %d, lost %d", r.PagesPresent, r.PagesExcluded, r.PagesZero, r.PagesLost)
	for _, wn := range r.Warnings {
		row("warning", "%s", wn)
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), 0
	for v >= unit && i < 5 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTPE"[i-1])
}
