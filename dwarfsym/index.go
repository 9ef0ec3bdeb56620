package dwarfsym

import (
	"debug/dwarf"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
)

// dieRef is where the index found a name.
type dieRef struct {
	off  uint64
	decl bool
}

type nameKey struct {
	kind dieKind
	name string
}

// index maps names to entries, filled unit by unit in .debug_info order.
// The first definition in that order wins; a declaration stands in until a
// definition is found. Unit headers too are read only as far as needed:
// walking all of them would touch a page of every unit of a 160 MiB
// section.
type index struct {
	sc *scanner

	mu        sync.Mutex
	units     []unitHeader // known so far, in order
	unitsDone bool         // units lists every unit (or unitErr ended it)
	unitErr   error
	scanned   int // units [0, scanned) are merged
	names     map[nameKey]dieRef
	errs      []error
	views     map[uint64]*unitView // by unit offset
	mapped    bool                 // sc.info is part of a file mapping

	advMu sync.Mutex // one batch at a time

	progress *atomic.Pointer[func(done, total int64)] // the File's SetProgress
}

func (f *File) index() (*index, error) {
	if f.closed.Load() {
		return nil, ErrClosed
	}
	f.idxOnce.Do(func() { f.idx, f.idxErr = f.loadIndex() })
	return f.idx, f.idxErr
}

func (f *File) loadIndex() (*index, error) {
	info, err := f.section(".debug_info")
	if err != nil {
		return nil, err
	}
	if len(info) == 0 {
		return nil, ErrNoDWARF
	}
	sc := &scanner{bo: f.elf.ByteOrder, info: info, abs: map[uint64]*abbrevTable{}}
	for _, p := range []struct {
		dst  *[]byte
		name string
	}{{&sc.abbrev, ".debug_abbrev"}, {&sc.str, ".debug_str"}, {&sc.lineStr, ".debug_line_str"}, {&sc.strOffs, ".debug_str_offsets"}} {
		if *p.dst, err = f.section(p.name); err != nil {
			return nil, err
		}
	}
	x := &index{sc: sc, names: make(map[nameKey]dieRef, 1024), views: map[uint64]*unitView{}, mapped: f.mapped != nil, progress: &f.progress}
	x.mu.Lock()
	x.moreUnits(1, 0)
	x.mu.Unlock()
	if len(x.units) == 0 {
		return nil, x.unitErr
	}
	return x, nil
}

// moreUnits reads unit headers until at least count are known and the last
// known one ends past off, or there are no more. x.mu must be held.
func (x *index) moreUnits(count int, off uint64) {
	for !x.unitsDone && (len(x.units) < count || x.units[len(x.units)-1].end <= off) {
		next := uint64(0)
		if n := len(x.units); n > 0 {
			next = x.units[n-1].end
		}
		if next >= uint64(len(x.sc.info)) {
			x.unitsDone = true
			return
		}
		u, err := parseUnitAt(x.sc.info, next, x.sc.bo)
		if err != nil {
			x.unitErr = err
			x.unitsDone = true
			return
		}
		x.units = append(x.units, u)
	}
}

// find returns the entry of that kind and name. A declaration satisfies the
// search only when acceptDecl is set (a variable's extern declaration has
// its type; a struct's declaration has no members).
func (x *index) find(kind dieKind, name string, acceptDecl bool) (dieRef, bool) {
	k := nameKey{kind, name}
	for {
		x.mu.Lock()
		r, ok := x.names[k]
		done := x.unitsDone && x.scanned == len(x.units)
		start := x.scanned
		x.mu.Unlock()
		if ok && (!r.decl || acceptDecl) {
			return r, true
		}
		if done {
			return r, ok
		}
		x.advance(start, false)
	}
}

// findDef returns the first definition of name among kinds, preferring
// earlier kinds among those found in the units scanned so far; it scans on
// only while none is found, so a bare "task_struct" does not scan the whole
// file looking for a typedef of that name.
func (x *index) findDef(kinds []dieKind, name string) (dieRef, bool) {
	for {
		x.mu.Lock()
		for _, k := range kinds {
			if r, ok := x.names[nameKey{k, name}]; ok && !r.decl {
				x.mu.Unlock()
				return r, true
			}
		}
		done := x.unitsDone && x.scanned == len(x.units)
		start := x.scanned
		x.mu.Unlock()
		if done {
			return dieRef{}, false
		}
		x.advance(start, false)
	}
}

// advance scans the next batch of units (or all the rest), unless another
// caller has done so since from was read. Batches double, so that a name
// found in the first units costs little and a full scan needs few rounds.
func (x *index) advance(from int, all bool) {
	x.advMu.Lock()
	defer x.advMu.Unlock()
	workers := runtime.GOMAXPROCS(0)
	x.mu.Lock()
	start := x.scanned
	if start != from {
		x.mu.Unlock()
		return
	}
	n := max(8*workers, start)
	if all {
		// Bulk scans go in chunks, so that the names of a chunk are
		// merged and its pages dropped before the next is read.
		n = 64 * workers
	}
	x.moreUnits(start+n, 0)
	end := min(start+n, len(x.units))
	units := x.units[start:end]
	if len(units) == 0 {
		x.mu.Unlock()
		return
	}
	x.mu.Unlock()
	x.scanRange(start, units, workers, all)
	if fn := x.progress.Load(); fn != nil {
		(*fn)(int64(units[len(units)-1].end), int64(len(x.sc.info)))
	}
}

func (x *index) scanRange(start int, units []unitHeader, workers int, bulk bool) {
	results := make([][]named, len(units))
	errs := make([]error, len(units))
	var next int
	var nmu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				nmu.Lock()
				i := next
				next++
				nmu.Unlock()
				if i >= len(units) {
					return
				}
				u := units[i]
				results[i], errs[i] = x.sc.scanUnit(u, nil)
				if bulk && x.mapped {
					// A bulk scan reads every unit once: give its pages
					// back (they stay in the page cache) so that
					// resident memory does not grow by the section.
					dropPages(x.sc.info[u.off:u.end])
				}
			}
		}()
	}
	wg.Wait()
	x.mu.Lock()
	defer x.mu.Unlock()
	for i, res := range results {
		if errs[i] != nil {
			x.errs = append(x.errs, errs[i])
		}
		for _, e := range res {
			k := nameKey{e.kind, e.name}
			old, seen := x.names[k]
			if !seen || (old.decl && !e.decl) {
				x.names[k] = dieRef{e.off, e.decl}
			}
		}
	}
	x.scanned = start + len(units)
}

// IndexAll scans every compilation unit not yet scanned, in parallel, so
// that later name questions are answered from memory. It returns the first
// error met in a malformed unit; units that scanned are indexed anyway.
func (f *File) IndexAll() error {
	x, err := f.index()
	if err != nil {
		return err
	}
	for {
		x.mu.Lock()
		done := x.unitsDone && x.scanned == len(x.units)
		start := x.scanned
		x.mu.Unlock()
		if done {
			break
		}
		x.advance(start, true)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.unitErr != nil {
		return x.unitErr
	}
	if len(x.errs) > 0 {
		return x.errs[0]
	}
	return nil
}

// IndexStats reports how far the lazy index has got.
type IndexStats struct {
	Units    int  // unit headers read so far
	Scanned  int  // units whose names are indexed
	Names    int  // distinct names indexed
	Complete bool // every unit is indexed
}

// IndexStats says how far the lazy index has got.
func (f *File) IndexStats() IndexStats {
	x, err := f.index()
	if err != nil {
		return IndexStats{}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	return IndexStats{Units: len(x.units), Scanned: x.scanned, Names: len(x.names), Complete: x.unitsDone && x.scanned == len(x.units)}
}

// TypeNames returns the names of every struct, union, enum and typedef
// (as "struct x", "union x", "enum x" and "x"), scanning the whole file
// first; for completion and listings. Order is unspecified.
func (f *File) TypeNames() ([]string, error) {
	return f.names(map[dieKind]string{kindStruct: "struct ", kindUnion: "union ", kindEnum: "enum ", kindTypedef: ""})
}

// VariableNames returns the names of every variable, scanning the whole
// file first. Order is unspecified.
func (f *File) VariableNames() ([]string, error) {
	return f.names(map[dieKind]string{kindVar: ""})
}

func (f *File) names(kinds map[dieKind]string) ([]string, error) {
	if err := f.IndexAll(); err != nil {
		if _, ierr := f.index(); ierr != nil {
			return nil, ierr
		}
	}
	x, _ := f.index()
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []string
	for k := range x.names {
		if prefix, ok := kinds[k.kind]; ok {
			out = append(out, prefix+k.name)
		}
	}
	return out, nil
}

// unitView is debug/dwarf's view of a single unit. debug/dwarf parses the
// abbreviations of every unit when it opens .debug_info (half a second for
// a kernel); a view of one unit's bytes costs only that unit's. References
// inside a unit are unit-relative, so offsets convert by adding the unit's
// start. A view has its own type cache and its own lock.
type unitView struct {
	once sync.Once
	d    *dwarf.Data
	err  error
	mu   sync.Mutex
}

// unitDWARF returns the view of the unit holding .debug_info offset off,
// the offset of the view's start, and the lock that guards its types.
func (f *File) unitDWARF(off uint64) (*dwarf.Data, uint64, *sync.Mutex, error) {
	x, err := f.index()
	if err != nil {
		return nil, 0, nil, err
	}
	x.mu.Lock()
	x.moreUnits(0, off)
	i := sort.Search(len(x.units), func(i int) bool { return x.units[i].end > off })
	if i == len(x.units) || off < x.units[i].off {
		x.mu.Unlock()
		return nil, 0, nil, &FormatError{".debug_info", off, "offset in no unit"}
	}
	u := x.units[i]
	v := x.views[u.off]
	if v == nil {
		v = &unitView{}
		x.views[u.off] = v
	}
	x.mu.Unlock()
	v.once.Do(func() { v.d, v.err = f.newView(x.sc.info[u.off:u.end]) })
	if v.err != nil {
		return nil, 0, nil, v.err
	}
	return v.d, u.off, &v.mu, nil
}

func (f *File) newView(info []byte) (*dwarf.Data, error) {
	get := func(name string) []byte {
		b, _ := f.section(name)
		return b
	}
	d, err := dwarf.New(get(".debug_abbrev"), nil, nil, info, get(".debug_line"), nil, get(".debug_ranges"), get(".debug_str"))
	if err != nil {
		return nil, fmt.Errorf("dwarfsym: %w", err)
	}
	for _, name := range []string{".debug_addr", ".debug_line_str", ".debug_str_offsets", ".debug_rnglists", ".debug_loclists"} {
		if b := get(name); len(b) > 0 {
			if err := d.AddSection(name, b); err != nil {
				return nil, fmt.Errorf("dwarfsym: %w", err)
			}
		}
	}
	return d, nil
}
