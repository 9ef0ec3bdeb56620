package vmcore

import (
	"bytes"
	"debug/dwarf"
	"debug/elf"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmcoretools/vmcore/internal/lab"
	"github.com/vmcoretools/vmcore/ktype"
	"github.com/vmcoretools/vmcore/module"
)

// TestLabModuleBTF reads every loaded module's BTF from the dump's memory
// (struct module's btf_data) on both kernels and checks it against the
// module's file in the lab's kernel image: the bytes equal the .ko's .BTF
// section, and a module's own type (struct virtio_blk) served through the
// model's type source has the layout the module's debuginfo (DWARF in the
// -dbg package's .ko) gives.
func TestLabModuleBTF(t *testing.T) {
	l := lab.Open(t)
	for _, name := range []string{"k61-elf", "k612-kdump-lzo-d31", "k510-elf", "ksid-elf"} {
		ld := l.Dump(name)
		if ld == nil {
			if strings.HasPrefix(name, "k61") { // the other kernels: build.sh without --only-6.1
				t.Errorf("the lab has no %s", name)
			}
			continue
		}
		t.Run(name, func(t *testing.T) {
			d, k := labOwnKernel(t, ld)
			defer d.Close()
			kdir := filepath.Dir(ld.Vmlinux)
			rel := d.Release()
			files := moduleFiles(t, filepath.Join(kdir, "img", "lib", "modules", rel))
			mods, err := module.List(k.Values)
			if err != nil {
				t.Fatal(err)
			}
			if len(mods) > 0 && !koHasSection(t, files[mods[0].Name], ".BTF") {
				// Modules carry BTF since 5.11: 5.10's have none, and
				// the model must say so of each.
				for _, m := range mods {
					if _, err := module.BTF(k.Values, m); err == nil {
						t.Errorf("%s: BTF read from memory, though its file has none", m.Name)
					}
				}
				t.Skipf("%s's modules carry no BTF (%s has no .BTF section); each says so", rel, files[mods[0].Name])
			}
			typed, errs := k.Source.Modules()
			for _, err := range errs {
				t.Error(err)
			}
			if len(typed) != len(mods) || len(mods) == 0 {
				t.Errorf("%d modules loaded, %d with BTF read", len(mods), len(typed))
			}
			for _, m := range mods {
				raw, err := module.BTF(k.Values, m)
				if err != nil {
					t.Errorf("%s: %v", m.Name, err)
					continue
				}
				want := koSection(t, files[m.Name], ".BTF")
				if !bytes.Equal(raw, want) {
					t.Errorf("%s: %d bytes of BTF in memory, %d in %s, not equal", m.Name, len(raw), len(want), files[m.Name])
				}
			}
			got, err := k.Source.Type("struct virtio_blk")
			if err != nil {
				t.Fatal(err)
			}
			dbg := filepath.Join(kdir, "dbg", "usr", "lib", "debug", "lib", "modules", rel, "kernel", "drivers", "block", "virtio_blk.ko")
			want := dwarfStruct(t, dbg, "virtio_blk")
			var gb, wb strings.Builder
			ktype.WriteLayout(&gb, got, false)
			ktype.WriteLayout(&wb, want, false)
			if gb.String() != wb.String() {
				t.Errorf("struct virtio_blk from the module's BTF:\n%s\nfrom its DWARF:\n%s", gb.String(), wb.String())
			}
			if _, err := k.Source.Type("struct no_such_type_anywhere"); err == nil {
				t.Error("a type no BTF has was found")
			}
		})
	}
}

// moduleFiles maps module names (as struct module spells them: '_' for
// '-') to their files under dir.
func moduleFiles(t *testing.T, dir string) map[string]string {
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			base := filepath.Base(p)
			if i := strings.Index(base, ".ko"); i > 0 {
				out[strings.ReplaceAll(base[:i], "-", "_")] = p
			}
		}
		return nil
	})
	if len(out) == 0 {
		t.Fatalf("no modules under %s", dir)
	}
	return out
}

// koHasSection tells whether a module file, .ko or .ko.xz, has the section.
func koHasSection(t *testing.T, path, name string) bool {
	return koELF(t, path).Section(name) != nil
}

// koELF opens a module file, .ko or .ko.xz.
func koELF(t *testing.T, path string) *elf.File {
	if path == "" {
		t.Fatalf("no module file")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".xz") {
		if data, err = exec.Command("xz", "-dc", path).Output(); err != nil {
			t.Fatalf("xz -dc %s: %v", path, err)
		}
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// koSection returns a section of a module file, .ko or .ko.xz.
func koSection(t *testing.T, path, name string) []byte {
	sec := koELF(t, path).Section(name)
	if sec == nil {
		t.Fatalf("%s has no %s", path, name)
	}
	b, err := sec.Data()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dwarfStruct finds a struct's definition in an object file's DWARF.
func dwarfStruct(t *testing.T, path, name string) dwarf.Type {
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dw, err := f.DWARF()
	if err != nil {
		t.Fatal(err)
	}
	r := dw.Reader()
	for {
		e, err := r.Next()
		if err != nil || e == nil {
			break
		}
		if e.Tag == dwarf.TagStructType && e.Val(dwarf.AttrName) == name && e.Val(dwarf.AttrDeclaration) == nil {
			typ, err := dw.Type(e.Offset)
			if err != nil {
				t.Fatal(err)
			}
			return typ
		}
	}
	t.Fatalf("%s has no struct %s", path, name)
	return nil
}
