package kmem

import (
	"debug/dwarf"
	"errors"
	"fmt"
	"sort"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/ktype"
	"github.com/vmcoretools/vmcore/walk"
)

// Counter is one named counter of the kernel's statistics.
type Counter struct {
	Name  string `json:"name"`
	Value int64  `json:"value"`
}

// VMStats is the kernel's global memory statistics, as crash's kmem -V
// prints them: the zone, node and NUMA counters (vm_zone_stat,
// vm_node_stat, vm_numa_stat, named by their enums) and the event
// counters (vm_event_states) summed over the possible CPUs. A section the
// kernel lacks is nil.
type VMStats struct {
	Zone   []Counter `json:"zone"`
	Node   []Counter `json:"node,omitempty"`
	NUMA   []Counter `json:"numa,omitempty"`
	Events []Counter `json:"events,omitempty"`
}

// VMStats reads the statistics.
func (m *Memory) VMStats() (*VMStats, error) {
	if m.vals == nil {
		return nil, ErrNoTypes
	}
	st := &VMStats{}
	var err error
	if st.Zone, err = m.statArray("vm_zone_stat", "enum zone_stat_item", "NR_VM_ZONE_STAT_ITEMS"); err != nil {
		return nil, err
	}
	if _, e := m.vals.Var("vm_node_stat"); e == nil {
		if st.Node, err = m.statArray("vm_node_stat", "enum node_stat_item", "NR_VM_NODE_STAT_ITEMS"); err != nil {
			return nil, err
		}
	}
	if _, e := m.vals.Var("vm_numa_stat"); e == nil {
		if st.NUMA, err = m.statArray("vm_numa_stat", "enum numa_stat_item", "NR_VM_NUMA_EVENT_ITEMS", "NR_VM_NUMA_STAT_ITEMS"); err != nil {
			return nil, err
		}
	}
	if st.Events, err = m.events(); err != nil {
		return nil, err
	}
	return st, nil
}

// enumNames lists an enum's enumerators below the one named end (the
// count), in value order; a value named twice keeps its last name.
func (m *Memory) enumNames(enum string, ends ...string) ([]string, error) {
	t, err := m.vals.Types.Type(enum)
	if err != nil {
		return nil, err
	}
	et, ok := ktype.Strip(t).(*dwarf.EnumType)
	if !ok {
		return nil, fmt.Errorf("%s is not an enum", enum)
	}
	n := int64(-1)
	for _, end := range ends {
		for _, v := range et.Val {
			if v.Name == end {
				n = v.Val
			}
		}
		if n >= 0 {
			break
		}
	}
	if n < 0 || n > 1<<12 {
		return nil, fmt.Errorf("%s has no count (%v)", enum, ends)
	}
	vals := append([]*dwarf.EnumValue(nil), et.Val...)
	sort.SliceStable(vals, func(i, j int) bool { return vals[i].Val < vals[j].Val })
	names := make([]string, n)
	for _, v := range vals {
		if v.Val >= 0 && v.Val < n {
			names[v.Val] = v.Name
		}
	}
	return names, nil
}

// statArray reads an atomic_long_t array of counters named by an enum.
func (m *Memory) statArray(sym, enum string, ends ...string) ([]Counter, error) {
	names, err := m.enumNames(enum, ends...)
	if err != nil {
		return nil, err
	}
	arr, err := m.vals.Var(sym)
	if err != nil {
		return nil, err
	}
	out := make([]Counter, len(names))
	for i, name := range names {
		e, err := arr.Index(i)
		if err != nil {
			return nil, err
		}
		if c, err := e.Member("counter"); err == nil {
			e = c
		}
		v, err := e.Int()
		if err != nil {
			return nil, err
		}
		out[i] = Counter{Name: name, Value: v}
	}
	return out, nil
}

// events sums the per-CPU vm_event_states over the possible CPUs.
func (m *Memory) events() ([]Counter, error) {
	names, err := m.enumNames("enum vm_event_item", "NR_VM_EVENT_ITEMS")
	if err != nil {
		return nil, nil // a kernel without CONFIG_VM_EVENT_COUNTERS
	}
	out := make([]Counter, len(names))
	for i, name := range names {
		out[i].Name = name
	}
	seen := 0
	for cv, err := range walk.PerCPU(m.vals, "vm_event_states", walk.PossibleCPUs(m.vals)) {
		if err != nil {
			return nil, err
		}
		ev, err := cv.Value.Member("event")
		if err != nil {
			return nil, err
		}
		for i := range out {
			e, err := ev.Index(i)
			if err != nil {
				return nil, err
			}
			v, err := e.Uint()
			if err != nil {
				return nil, err
			}
			out[i].Value += int64(v)
		}
		seen++
	}
	if seen == 0 {
		return nil, errors.New("no possible CPU for vm_event_states")
	}
	return out, nil
}

// Zone is one memory zone of a node, as crash's kmem -z shows it.
type Zone struct {
	Node  int       `json:"node"`
	Index int       `json:"index"`
	Addr  arch.Word `json:"addr"`
	Name  string    `json:"name"`
	// SpannedPages and PresentPages are the zone's size: the pages it
	// spans and those with memory; 0 for an unpopulated zone.
	SpannedPages uint64 `json:"spanned_pages"`
	PresentPages uint64 `json:"present_pages"`
	// Min, Low and High are the watermarks, in pages.
	Min  uint64 `json:"min"`
	Low  uint64 `json:"low"`
	High uint64 `json:"high"`
	// Stats are the zone's vm_stat counters.
	Stats []Counter `json:"stats"`
}

// Zones lists every node's zones.
func (m *Memory) Zones() ([]Zone, error) {
	if m.vals == nil {
		return nil, ErrNoTypes
	}
	names, err := m.enumNames("enum zone_stat_item", "NR_VM_ZONE_STAT_ITEMS")
	if err != nil {
		return nil, err
	}
	wmark := [3]int64{0, 1, 2}
	for i, n := range []string{"WMARK_MIN", "WMARK_LOW", "WMARK_HIGH"} {
		if v, ok := m.enumValue("enum zone_watermarks", n); ok {
			wmark[i] = v
		}
	}
	nodes, err := m.nodes()
	if err != nil {
		return nil, err
	}
	var out []Zone
	for n, node := range nodes {
		zones, err := nodeZones(node)
		if err != nil {
			return nil, err
		}
		for i, z := range zones {
			zone := Zone{Node: n, Index: i, Addr: arch.Word(z.Addr), Name: zoneName(z)}
			field := func(path string) uint64 {
				if err != nil {
					return 0
				}
				var u uint64
				u, err = uintOf(z, path)
				return u
			}
			zone.SpannedPages = field("spanned_pages")
			zone.PresentPages = field("present_pages")
			wm := "_watermark"
			if _, e := z.Member(wm); e != nil {
				wm = "watermark"
			}
			zone.Min = field(fmt.Sprintf("%s[%d]", wm, wmark[0]))
			zone.Low = field(fmt.Sprintf("%s[%d]", wm, wmark[1]))
			zone.High = field(fmt.Sprintf("%s[%d]", wm, wmark[2]))
			for k, name := range names {
				c, e := z.Member(fmt.Sprintf("vm_stat[%d].counter", k))
				if e != nil {
					err = e
					break
				}
				v, e := c.Int()
				if e != nil {
					err = e
					break
				}
				zone.Stats = append(zone.Stats, Counter{Name: name, Value: v})
			}
			if err != nil {
				return out, fmt.Errorf("zone %d of node %d at %#x: %w", i, n, z.Addr, err)
			}
			out = append(out, zone)
		}
	}
	return out, nil
}
