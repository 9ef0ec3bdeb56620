package kdumpfmt

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// makedumpfile is Debian's build (1.7.2 on bookworm); tests that need it
// skip, saying so, where it is not installed.
func needMakedumpfile(t *testing.T) string {
	path, err := exec.LookPath("makedumpfile")
	if err != nil {
		t.Skip("makedumpfile not installed (apt-get install makedumpfile)")
	}
	return path
}

// makedumpfile -R must rearrange our flattened output into exactly our
// plain output.
func TestMakedumpfileRearrange(t *testing.T) {
	mdf := needMakedumpfile(t)
	m := newTestMemory(1000, 4096)
	dir := t.TempDir()
	for c := None; c <= Zstd; c++ {
		var plain memWriterAt
		if err := Write(&plain, m.source(31), WriteOptions{Compression: c}); err != nil {
			t.Fatal(err)
		}
		var flat bytes.Buffer
		if err := WriteFlattened(&flat, m.source(31), WriteOptions{Compression: c}); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, c.String())
		cmd := exec.Command(mdf, "-R", out)
		cmd.Stdin = &flat
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: makedumpfile -R: %v\n%s", c, err, msg)
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, plain.b) {
			t.Errorf("%v: makedumpfile -R output (%d bytes) differs from Write output (%d bytes)", c, len(got), len(plain.b))
		}
	}
}
