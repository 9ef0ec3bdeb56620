package system_test

import (
	"strings"
	"testing"

	"github.com/vmcoretools/vmcore/system"
)

// FuzzParseUtsname decodes arbitrary bytes as a struct new_utsname: no
// panic; a result is Linux's, each field at most 65 bytes without a NUL.
func FuzzParseUtsname(f *testing.F) {
	b := make([]byte, 6*65)
	copy(b, "Linux")
	copy(b[65:], "host")
	f.Add(b)
	f.Add(b[:64])
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := system.ParseUtsname(b)
		if err != nil {
			return
		}
		if u.Sysname != "Linux" {
			t.Fatalf("sysname %q", u.Sysname)
		}
		for _, s := range []string{u.Nodename, u.Release, u.Version, u.Machine, u.Domainname} {
			if len(s) > 65 || strings.IndexByte(s, 0) >= 0 {
				t.Fatalf("field %q", s)
			}
		}
	})
}
