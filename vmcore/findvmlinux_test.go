package vmcore

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFindVmlinuxInDirs(t *testing.T) {
	ctx := context.Background()
	none := []string{}
	dir := t.TempDir()
	// By release, in an unpacked -dbg package layout.
	p := filepath.Join(dir, "usr/lib/debug/boot/vmlinux-6.1.0-tiny")
	copyFile(t, tinyVmlinux, p)
	got, err := FindVmlinux(ctx, "", "6.1.0-tiny", FindOptions{Dirs: []string{dir}, NoStandard: true, DebuginfodURLs: none})
	if err != nil || got != p {
		t.Fatalf("by release: %q, %v", got, err)
	}
	// By build ID in a .build-id tree.
	dir2 := t.TempDir()
	p2 := filepath.Join(dir2, ".build-id", tinyBuildID[:2], tinyBuildID[2:]+".debug")
	copyFile(t, tinyVmlinux, p2)
	got, err = FindVmlinux(ctx, tinyBuildID, "6.1.0-tiny", FindOptions{Dirs: []string{dir2}, NoStandard: true, DebuginfodURLs: none})
	if err != nil || got != p2 {
		t.Fatalf("by build ID: %q, %v", got, err)
	}
	// The standard places under a root.
	got, err = FindVmlinux(ctx, tinyBuildID, "6.1.0-tiny", FindOptions{Root: dir, DebuginfodURLs: none, CacheDir: t.TempDir()})
	if err != nil || got != p {
		t.Fatalf("standard places: %q, %v", got, err)
	}
	// A file of the right name with another build ID is refused, saying so.
	other := strings.Repeat("cd", 20)
	_, err = FindVmlinux(ctx, other, "6.1.0-tiny", FindOptions{Dirs: []string{dir}, NoStandard: true, DebuginfodURLs: none, CacheDir: t.TempDir()})
	var nf *VmlinuxNotFoundError
	if !errors.As(err, &nf) || !errors.Is(err, ErrVmlinuxNotFound) {
		t.Fatalf("wrong build ID: %v", err)
	}
	if !strings.Contains(err.Error(), p+": build ID "+tinyBuildID+", not "+other) {
		t.Errorf("message does not say why %s was refused:\n%v", p, err)
	}
	// A stripped file (no DWARF) is no debuginfo vmlinux.
	dir3 := t.TempDir()
	os.WriteFile(filepath.Join(dir3, "vmlinux-6.1.0-tiny"), []byte("\x7fELF not really"), 0o644)
	if _, err := FindVmlinux(ctx, "", "6.1.0-tiny", FindOptions{Dirs: []string{dir3}, NoStandard: true, DebuginfodURLs: none}); !errors.Is(err, ErrVmlinuxNotFound) {
		t.Errorf("bad ELF accepted: %v", err)
	}
	if _, err := FindVmlinux(ctx, "../x", "", FindOptions{}); err == nil {
		t.Error("a build ID with a path in it was accepted")
	}
}

func TestFindVmlinuxDebuginfod(t *testing.T) {
	ctx := context.Background()
	body, err := os.ReadFile(tinyVmlinux)
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/buildid/" + tinyBuildID + "/debuginfo":
			w.Write(body)
		case "/buildid/" + strings.Repeat("ee", 20) + "/debuginfo":
			w.Write(body) // the wrong file for that ID
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	cache := t.TempDir()
	opt := FindOptions{NoStandard: true, DebuginfodURLs: []string{"http://127.0.0.1:1/", srv.URL}, CacheDir: cache}
	got, err := FindVmlinux(ctx, tinyBuildID, "6.1.0-tiny", opt)
	want := filepath.Join(cache, tinyBuildID, "debuginfo")
	if err != nil || got != want {
		t.Fatalf("debuginfod: %q, %v", got, err)
	}
	if hits.Load() != 1 {
		t.Errorf("%d requests", hits.Load())
	}
	// Second time from the cache, without asking.
	if got, err := FindVmlinux(ctx, tinyBuildID, "", opt); err != nil || got != want || hits.Load() != 1 {
		t.Errorf("cache: %q, %v, %d requests", got, err, hits.Load())
	}
	// Env var and 404.
	t.Setenv("DEBUGINFOD_URLS", srv.URL)
	_, err = FindVmlinux(ctx, strings.Repeat("aa", 20), "", FindOptions{NoStandard: true, CacheDir: cache})
	if !errors.Is(err, ErrVmlinuxNotFound) || !strings.Contains(err.Error(), "404") {
		t.Errorf("404: %v", err)
	}
	// A server that sends a file with another build ID is not believed.
	_, err = FindVmlinux(ctx, strings.Repeat("ee", 20), "", FindOptions{NoStandard: true, CacheDir: cache})
	if !errors.Is(err, ErrVmlinuxNotFound) || !strings.Contains(err.Error(), "served a file that does not match (build ID "+tinyBuildID) {
		t.Errorf("wrong file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cache, strings.Repeat("ee", 20), "debuginfo")); err == nil {
		t.Error("the wrong file stayed in the cache")
	}
}
