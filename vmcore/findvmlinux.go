package vmcore

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vmcoretools/vmcore/dwarfsym"
)

// FindOptions say where FindVmlinux looks.
type FindOptions struct {
	// Dirs are searched first, in order. In each, FindVmlinux tries
	// vmlinux-RELEASE, RELEASE/vmlinux, vmlinux, boot/vmlinux-RELEASE,
	// lib/modules/RELEASE/vmlinux and .build-id/xx/rest.debug, and the same
	// under usr/lib/debug (so an unpacked -dbg package works as a Dir).
	Dirs []string
	// Root prefixes the standard places (/usr/lib/debug/...); "" is "/".
	Root string
	// NoStandard skips the standard places (for tests).
	NoStandard bool
	// DebuginfodURLs are debuginfod servers to ask by build ID. Nil means
	// the space-separated $DEBUGINFOD_URLS; an empty non-nil slice means
	// none.
	DebuginfodURLs []string
	// CacheDir is where downloads are kept, in elfutils' layout
	// (CACHE/BUILDID/debuginfo), so gdb, drgn and this tool share them. ""
	// means $DEBUGINFOD_CACHE_PATH, else $XDG_CACHE_HOME/debuginfod_client,
	// else ~/.cache/debuginfod_client.
	CacheDir string
	// Client makes the HTTP requests; nil means a client with Timeout.
	Client *http.Client
	// Timeout bounds each server's whole download (0 means 10 minutes: a
	// kernel's debuginfo is hundreds of megabytes).
	Timeout time.Duration
	// Log, if set, hears each place tried and each download.
	Log func(msg string)
}

// ErrVmlinuxNotFound matches every *VmlinuxNotFoundError with errors.Is.
var ErrVmlinuxNotFound = errors.New("vmcore: no matching vmlinux found")

// VmlinuxNotFoundError lists where FindVmlinux looked.
type VmlinuxNotFoundError struct {
	BuildID, Release string
	Tried            []string // paths and URLs, with why each failed
}

func (e *VmlinuxNotFoundError) Error() string {
	what := []string{}
	if e.Release != "" {
		what = append(what, "release "+e.Release)
	}
	if e.BuildID != "" {
		what = append(what, "build ID "+e.BuildID)
	}
	msg := fmt.Sprintf("vmcore: no debuginfo vmlinux found for %s", strings.Join(what, ", "))
	if len(e.Tried) > 0 {
		msg += "; tried:\n  " + strings.Join(e.Tried, "\n  ")
	}
	return msg + "\ninstall the kernel's debug package (Debian: linux-image-RELEASE-dbg), name its directory, or set DEBUGINFOD_URLS"
}

func (e *VmlinuxNotFoundError) Is(target error) bool { return target == ErrVmlinuxNotFound }

// isBuildID reports whether s looks like a GNU build ID in lower-case hex.
// (A regexp with {8,128} costs a millisecond and a thousand allocations at
// start-up, in every run of the binary.)
func isBuildID(s string) bool {
	if len(s) < 8 || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// FindVmlinux finds the debuginfo vmlinux of the kernel that wrote d, by
// the build ID and release in its VMCOREINFO.
func (d *Dump) FindVmlinux(ctx context.Context, opt FindOptions) (string, error) {
	return FindVmlinux(ctx, d.BuildID(), d.Release(), opt)
}

// FindVmlinux finds a debuginfo vmlinux by build ID (preferred) or release
// (when the build ID is unknown, as in dumps of kernels before 5.9): in
// opt.Dirs, then the usual places — /usr/lib/debug/.build-id/xx/rest.debug,
// /usr/lib/debug/lib/modules/RELEASE/vmlinux,
// /usr/lib/debug/boot/vmlinux-RELEASE, /boot/vmlinux-RELEASE,
// /lib/modules/RELEASE/build/vmlinux — then the debuginfod cache and
// servers. A candidate is accepted only with DWARF and, when buildID is
// given, that very build ID; else its linux_banner must name release.
func FindVmlinux(ctx context.Context, buildID, release string, opt FindOptions) (string, error) {
	buildID = strings.ToLower(strings.TrimSpace(buildID))
	if buildID != "" && !isBuildID(buildID) {
		return "", fmt.Errorf("vmcore: build ID %q is not hexadecimal", buildID)
	}
	if release != "" && strings.ContainsAny(release, "/\x00") {
		return "", fmt.Errorf("vmcore: release %q contains a slash", release)
	}
	if buildID == "" && release == "" {
		return "", errors.New("vmcore: the dump names neither a build ID nor a release, so no vmlinux can be looked up; name one")
	}
	nf := &VmlinuxNotFoundError{BuildID: buildID, Release: release}
	logf := func(format string, a ...any) {
		if opt.Log != nil {
			opt.Log(fmt.Sprintf(format, a...))
		}
	}
	try := func(p string) bool {
		reason := checkCandidate(p, buildID, release)
		if reason == "" {
			logf("found %s", p)
			return true
		}
		if !errors.Is(statErr(p), os.ErrNotExist) {
			nf.Tried = append(nf.Tried, p+": "+reason)
		} else {
			nf.Tried = append(nf.Tried, p+": absent")
		}
		logf("%s: %s", p, reason)
		return false
	}
	var places []string
	for _, dir := range opt.Dirs {
		places = append(places, dirCandidates(dir, buildID, release)...)
	}
	if !opt.NoStandard {
		root := opt.Root
		if root == "" {
			root = "/"
		}
		dbg := filepath.Join(root, "usr/lib/debug")
		if len(buildID) > 2 {
			places = append(places, filepath.Join(dbg, ".build-id", buildID[:2], buildID[2:]+".debug"))
		}
		if release != "" {
			places = append(places,
				filepath.Join(dbg, "lib/modules", release, "vmlinux"),
				filepath.Join(dbg, "boot", "vmlinux-"+release),
				filepath.Join(dbg, "vmlinux-"+release),
				filepath.Join(root, "boot", "vmlinux-"+release),
				filepath.Join(root, "lib/modules", release, "build/vmlinux"),
				filepath.Join(root, "lib/modules", release, "vmlinux"),
			)
		}
	}
	seen := map[string]bool{}
	for _, p := range places {
		if seen[p] {
			continue
		}
		seen[p] = true
		if try(p) {
			return p, nil
		}
	}
	if buildID == "" {
		return "", nf
	}
	cache, err := cacheDir(opt.CacheDir)
	if err == nil {
		p := filepath.Join(cache, buildID, "debuginfo")
		if try(p) {
			return p, nil
		}
	}
	urls := opt.DebuginfodURLs
	if urls == nil {
		urls = strings.Fields(os.Getenv("DEBUGINFOD_URLS"))
	}
	if len(urls) > 0 && err != nil {
		nf.Tried = append(nf.Tried, "debuginfod: "+err.Error())
		return "", nf
	}
	for _, u := range urls {
		p, err := download(ctx, u, buildID, cache, opt)
		if err != nil {
			nf.Tried = append(nf.Tried, err.Error())
			logf("%v", err)
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			continue
		}
		if reason := checkCandidate(p, buildID, release); reason != "" {
			os.RemoveAll(filepath.Dir(p))
			nf.Tried = append(nf.Tried, fmt.Sprintf("%s: served a file that does not match (%s)", u, reason))
			continue
		}
		logf("downloaded %s", p)
		return p, nil
	}
	return "", nf
}

func statErr(p string) error { _, err := os.Stat(p); return err }

func dirCandidates(dir, buildID, release string) []string {
	var out []string
	for _, base := range []string{dir, filepath.Join(dir, "usr/lib/debug")} {
		if len(buildID) > 2 {
			out = append(out, filepath.Join(base, ".build-id", buildID[:2], buildID[2:]+".debug"))
		}
		if release != "" {
			out = append(out,
				filepath.Join(base, "vmlinux-"+release),
				filepath.Join(base, release, "vmlinux"),
				filepath.Join(base, "boot", "vmlinux-"+release),
				filepath.Join(base, "lib/modules", release, "vmlinux"))
		}
		out = append(out, filepath.Join(base, "vmlinux"))
	}
	return out
}

// checkCandidate says why p is not the wanted vmlinux, or "" when it is.
func checkCandidate(p, buildID, release string) string {
	st, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "absent"
		}
		return err.Error()
	}
	if st.IsDir() {
		return "a directory"
	}
	ef, err := elf.Open(p)
	if err != nil {
		return "not an ELF file"
	}
	hasDWARF := ef.Section(".debug_info") != nil || ef.Section(".zdebug_info") != nil
	ef.Close()
	if !hasDWARF {
		return "no DWARF (not a debuginfo vmlinux)"
	}
	f, err := dwarfsym.Open(p)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	if buildID != "" {
		id, err := f.BuildID()
		if err != nil {
			return err.Error()
		}
		if id != buildID {
			if id == "" {
				return "has no build ID"
			}
			return "build ID " + id + ", not " + buildID
		}
		return ""
	}
	r, err := f.Release()
	if err != nil {
		return err.Error()
	}
	if r != release {
		return "release " + r + ", not " + release
	}
	return ""
}

func cacheDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	if d := os.Getenv("DEBUGINFOD_CACHE_PATH"); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "debuginfod_client"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no debuginfod cache directory: %w", err)
	}
	return filepath.Join(home, ".cache", "debuginfod_client"), nil
}

// download fetches SERVER/buildid/ID/debuginfo into CACHE/ID/debuginfo,
// through a temporary file, so that an interrupted download leaves nothing
// behind that looks complete.
func download(ctx context.Context, server, buildID, cache string, opt FindOptions) (string, error) {
	base, err := url.Parse(strings.TrimRight(server, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") {
		return "", fmt.Errorf("debuginfod %q: not an http(s) URL", server)
	}
	src := base.String() + "/buildid/" + buildID + "/debuginfo"
	timeout := opt.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := opt.Client
	if client == nil {
		client = &http.Client{}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return "", fmt.Errorf("%s: %w", src, err)
	}
	req.Header.Set("User-Agent", "vmcore (Go; debuginfod client)")
	if opt.Log != nil {
		opt.Log("asking " + src)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("%s: %w", src, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: HTTP %s", src, resp.Status)
	}
	dir := filepath.Join(cache, buildID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("debuginfod cache: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".debuginfo.*.tmp")
	if err != nil {
		return "", fmt.Errorf("debuginfod cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, resp.Body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("%s: download failed after %d bytes: %w", src, n, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return "", fmt.Errorf("%s: got %d of %d bytes", src, n, resp.ContentLength)
	}
	dst := filepath.Join(dir, "debuginfo")
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", fmt.Errorf("debuginfod cache: %w", err)
	}
	return dst, nil
}
