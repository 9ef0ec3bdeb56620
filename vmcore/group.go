package vmcore

import (
	"errors"
	"fmt"
	"os"

	"github.com/vmcoretools/vmcore/kdumpfmt"
)

// GroupSplitSets groups command-line paths into dumps: the files of one
// makedumpfile --split set (same kernel, same capture time, same memory
// size) form one group, in the order their first file appears; every other
// path is a group of its own. Files that cannot be read stay alone, so that
// opening them reports the error.
func GroupSplitSets(paths []string) [][]string {
	if len(paths) == 1 {
		return [][]string{paths} // one file: nothing to group, nothing to read
	}
	var groups [][]string
	index := map[string]int{}
	for _, p := range paths {
		key, ok := splitKey(p)
		if !ok {
			groups = append(groups, []string{p})
			continue
		}
		if i, seen := index[key]; seen {
			groups[i] = append(groups[i], p)
			continue
		}
		index[key] = len(groups)
		groups = append(groups, []string{p})
	}
	return groups
}

func splitKey(path string) (string, bool) {
	if k, err := sniffFile(path); err != nil || k != "kdump" {
		return "", false
	}
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	h, sub, err := kdumpfmt.ReadHeaders(f)
	if errors.Is(err, kdumpfmt.ErrFlattened) { // rare in a split set: index it whole
		kf, err2 := kdumpfmt.Open(path)
		if err2 != nil {
			return "", false
		}
		h, sub, err = kf.Header, kf.SubHeader, nil
		kf.Close()
	}
	if err != nil || sub.Split == 0 {
		return "", false
	}
	return fmt.Sprintf("%s\x00%s\x00%s\x00%d.%d\x00%d", h.Utsname.Nodename, h.Utsname.Release, h.Utsname.Version,
		h.TimestampSec, h.TimestampUsec, kdumpfmt.MaxPFN(&h, &sub)), true
}
