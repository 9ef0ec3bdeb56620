package dwarfsym

import (
	"debug/dwarf"
	"sort"
)

// CompDir returns the compilation directory (DW_AT_comp_dir) of the unit
// whose code covers a (relocated) address, "" when no unit does. Line
// tables name files relative to it; gdb, and so crash, join the two
// (debian/build/build_amd64_none_cloud-amd64 + kernel/sched/core.c).
func (f *File) CompDir(addr uint64) string {
	pc := addr - f.reloc.Load()
	ars, err := f.addrRanges()
	if err != nil {
		return ""
	}
	i := sort.Search(len(ars), func(i int) bool { return ars[i].lo > pc }) - 1
	for ; i >= 0 && len(ars)-i < 1<<20; i-- {
		if pc >= ars[i].lo && pc < ars[i].hi {
			d, _, _, err := f.unitDWARF(ars[i].unit)
			if err != nil {
				return ""
			}
			cu, err := d.Reader().Next()
			if err != nil || cu == nil {
				return ""
			}
			dir, _ := cu.Val(dwarf.AttrCompDir).(string)
			return dir
		}
		if ars[i].hi <= pc && pc-ars[i].hi > 1<<24 {
			break
		}
	}
	return ""
}
