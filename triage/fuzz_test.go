package triage

import (
	"strings"
	"testing"
)

// FuzzClassify: any log text classifies and fingerprints without a
// panic, and the fingerprint's ID always starts with the kind.
func FuzzClassify(f *testing.F) {
	for _, c := range classifyCases {
		f.Add(c.log)
	}
	f.Add("Kernel panic - not syncing: \nCall Trace:\n ? x+0x1/0x2\n")
	f.Add("Call Trace:\nCall Trace:\n <IRQ>\n a+0x1/0x1 [m]\n")
	f.Fuzz(func(t *testing.T, log string) {
		lines := strings.Split(log, "\n")
		fl := Classify(lines)
		r := &Report{Failure: fl, Unknown: map[string]string{}}
		r.fingerprint(lines)
		if r.Fingerprint.ID != "" && !strings.HasPrefix(r.Fingerprint.ID, string(fl.Kind)) {
			t.Fatalf("fingerprint %q of kind %s", r.Fingerprint.ID, fl.Kind)
		}
		if len(r.Fingerprint.Frames) > FingerprintFrames {
			t.Fatalf("%d frames", len(r.Fingerprint.Frames))
		}
	})
}
