package repl

import "testing"

// TestPickMember: crash's parse_for_member over a whole structure's text:
// members inside anonymous structs keep their indentation and comma, a
// structure member ends at its closing brace, an embedded structure's own
// members of the same name are not taken, a lone ", " is trimmed.
func TestPickMember(t *testing.T) {
	whole := `struct vm_area_struct {
  {
    {
      vm_start = 4194304,
      vm_end = 4198400
    },
    vm_rcu = {
      next = 0x0,
      func = 0x0
    }
  },
  vm_mm = 0xffff8b6b0106c780,
  inner = {
    vm_mm = 0x1,
    x = 2
  },
  list = {
    next = 0xffff,
    prev = 0xffff
  },
  tail = 5, 
  last = {
    a = 1
  }
}
`
	for member, want := range map[string]string{
		"vm_start": "      vm_start = 4194304,\n",
		"vm_end":   "      vm_end = 4198400\n",
		"vm_mm":    "  vm_mm = 0xffff8b6b0106c780,\n",
		"list":     "  list = {\n    next = 0xffff,\n    prev = 0xffff\n  },\n",
		"tail":     "  tail = 5\n",
		"last":     "  last = {\n    a = 1\n  }\n",
		"next":     "",
		"nosuch":   "",
	} {
		if got := pickMember(whole, member); got != want {
			t.Errorf("pickMember(%s) = %q, want %q", member, got, want)
		}
	}
}
